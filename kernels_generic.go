package softmax

import "math"

// This file holds the pure-Go kernels. They are compiled on every platform:
// they are the fallback where no assembly exists and under the purego tag,
// and the reference the assembly kernels are tested against.
//
// Two kinds of kernel compute exponentials of shifted inputs.
//
// The summing kernels (sumExp, maxSumExp) compute exp(x-shift) with
// x-shift rounded to the element type. That rounding can cost a few units
// in the last place of a term far below the maximum, which changes the sum
// by a negligible amount.
//
// The storing kernels (storeExp, storeExpScaled) write each exponential as
// an output, and must be accurate for every output that is a normal
// number. For float32 with |x-m| >= 16, x-m rounded to float32 alone is
// off by up to 4e-6 relative; so these kernels take the shift m as an
// expShift, a decomposition (a, mu, j) with m = a + mu + j*ln2, chosen so
// that (x-a) is exact and (x-a) - k*ln2 - mu, for the integer k nearest
// (x-a-mu)/ln2, is accurate to a few units of the last place of a number
// smaller than ln2. Then exp(x-m) = 2^(k-j) * exp((x-a) - k*ln2 - mu).

// expShift is the decomposition of a shift m that the storing kernels take;
// newExpShift builds it.
type expShift[F Float] struct {
	// m is the shift itself, for kernels that compute in a wider type,
	// where x-m is exact.
	m F
	// a is subtracted first: 0 when |m| is moderate, m itself when |m| is
	// so large that x-m is exact for every x within the exp range of m.
	a F
	// mu and j are the rest: m - a = mu + j*ln2, with j an integer and
	// |mu| <= ln2/2.
	mu, j F
	// vmin is the smallest x-a whose exponential the kernels compute;
	// below it they write 0. It lies a little under the point where
	// exp(x-m) drops below the smallest normal number, so normal outputs
	// are never flushed.
	vmin F
}

// newExpShift returns the decomposition of m, which is finite.
func newExpShift[F Float](m F) expShift[F] {
	// Below these magnitudes k*ln2 is exact in the kernels' arithmetic;
	// above them x-m is exact for every x within the exp range of m.
	limit, minLog := float64(1<<15), math.Log(0x1p-126)
	if !is32[F]() {
		limit, minLog = 1<<14, math.Log(0x1p-1022)
	}
	m64 := float64(m)
	if math.Abs(m64) >= limit {
		return expShift[F]{m: m, a: m, vmin: F(minLog - 0.25)}
	}
	j := math.Round(m64 * log2e)
	mu := (m64 - j*ln2Hi64) - j*ln2Lo64
	return expShift[F]{m: m, mu: F(mu), j: F(j), vmin: F(m64 + minLog - 0.25)}
}

// The pure-Go exp is table-driven, which in scalar code costs fewer
// instructions than a long polynomial. With N table entries,
// k = round(x*N/ln2) and r = x - k*ln2/N, |r| <= ln2/(2N), so
// exp(x) = 2^floor(k/N) * 2^((k mod N)/N) * exp(r). The middle factor comes
// from a table, the first goes straight into the exponent bits, and exp(r)
// is a short Taylor polynomial: r is so small that the first neglected term
// is below 3e-8 (float32) and 4e-18 (float64) relative.
//
// The float32 kernels compute in float64, where x-m is exact, so they need
// no decomposition and can evaluate a float32-accurate polynomial.
const (
	log2e = 1.44269504088896340735992468100189214
	ln2   = 0.693147180559945309417232121458176568

	// Cody-Waite split of ln2: ln2Hi has 32 significant bits, so k*ln2Hi/N
	// is exact for |k| < 2^21.
	ln2Hi64 = 6.93147180369123816490e-01
	ln2Lo64 = 1.90821492927058770002e-10

	expTableSize = 64

	// Adding expRound to y rounds y to an integer k that then sits in the
	// low mantissa bits of the sum: bits(y+expRound) = bits(expRound)+k,
	// and bits(expRound) is a multiple of 2^51. So the low bits of the sum
	// are k mod N, and (bits>>log2(N))<<52 is floor(k/N)<<52 modulo 2^64.
	expRound = 0x1.8p52

	// The float64 kernels build 2^(floor(k/N)+expBias) and multiply by
	// 2^-expBias at the end, so outputs below the smallest normal number
	// come out as correctly rounded subnormals rather than garbage bits.
	expBias = 64

	// Below these arguments the float32 and float64 exps are under the
	// smallest normal number, less a margin.
	expMin32 = -87.6
	expMin64 = -708.7
)

// expTableBits[i] holds the bits of 2^(i/N).
var expTableBits [expTableSize]uint64

func init() {
	for i := range expTableBits {
		expTableBits[i] = math.Float64bits(math.Exp2(float64(i) / expTableSize))
	}
}

// expShifted32 sets dst[i] = exp(x[i]-m), with m given as its float64
// value, and returns the sum of the exponentials. The exp is written out
// in the loop rather than called because it is over the Go compiler's
// inlining budget, and a call per element would cost as much as the exp
// itself. One float64 accumulator is enough: the exp's dozens of
// instructions per element hide the latency of its add (two accumulators
// measured no faster). A degree-2 polynomial suffices here: the table has 64 entries,
// so |r| <= ln2/128 and the first neglected term is below 3e-8.
func expShifted32(dst, x []float32, m float64) float64 {
	dst = dst[:len(x)]
	var sum float64
	for i, xi := range x {
		v := float64(xi) - m
		t := v*(log2e*expTableSize) + expRound
		k := t - expRound
		r := v - k*(ln2/expTableSize)
		bits := math.Float64bits(t)
		scale := math.Float64frombits(expTableBits[bits%expTableSize] +
			uint64(int64(bits)>>6)<<52)
		e := scale + scale*(r+r*r*0.5)
		if v < expMin32 {
			e = 0
		}
		dst[i] = float32(e)
		sum += e
	}
	return sum
}

// expShifted64 sets dst[i] = exp(x[i]-m) for the decomposition s of m,
// and returns their sum. The sum is built from partial sums of
// sumRun elements folded into a compensated total, so that many small
// terms added to one large one (a confident prediction among thousands of
// near-ties) cannot drift by one rounding per term: a plain float64 sum of
// 4096 terms can be off by 4096 half-ulps, 4.5e-13, far past the 1e-14
// contract.
func expShifted64(dst, x []float64, s expShift[float64]) float64 {
	dst = dst[:len(x)]
	var total neumaier
	muN := s.mu * (log2e * expTableSize)
	jBits := uint64(int64(s.j)-expBias) << 52
	for start := 0; start < len(x); start += sumRun {
		end := min(start+sumRun, len(x))
		var part float64
		for i := start; i < end; i++ {
			v := x[i] - s.a
			t := v*(log2e*expTableSize) - muN + expRound
			k := t - expRound
			r := ((v - k*(ln2Hi64/expTableSize)) - s.mu) - k*(ln2Lo64/expTableSize)
			bits := math.Float64bits(t)
			scale := math.Float64frombits(expTableBits[bits%expTableSize] +
				uint64(int64(bits)>>6)<<52 - jBits)
			r2 := r * r
			p := r + r2*(1.0/2+r*(1.0/6)+r2*(1.0/24+r*(1.0/120)+r2*(1.0/720)))
			e := (scale + scale*p) * 0x1p-64
			if v < s.vmin {
				e = 0
			}
			dst[i] = e
			part += e
		}
		total.add(part)
	}
	return total.total()
}

// sumRun is the longest run of terms any kernel adds into one accumulator
// before folding it into a wider or compensated one: each addition can
// round by half an ulp of the running sum, so a run of sumRun terms is off
// by at most sumRun/2 ulp, 1e-6 for float32 and 2e-15 for float64, within
// the contract whatever the terms.
const sumRun = 16

// expChunk is the number of elements that the kernels which do not store
// their exponentials compute at a time into a stack buffer, small enough to
// stay in the L1 cache.
const expChunk = 512

// maxOfGeneric returns the largest element of x, which is not empty. It
// may or may not return NaN when x holds one; callers find NaN through the
// exp kernels, which propagate it.
func maxOfGeneric[F Float](x []F) F {
	m0, m1, m2, m3 := x[0], x[0], x[0], x[0]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		if v[0] > m0 {
			m0 = v[0]
		}
		if v[1] > m1 {
			m1 = v[1]
		}
		if v[2] > m2 {
			m2 = v[2]
		}
		if v[3] > m3 {
			m3 = v[3]
		}
	}
	for ; i < len(x); i++ {
		if x[i] > m0 {
			m0 = x[i]
		}
	}
	return max(m0, m1, m2, m3)
}

// sumExp32Generic returns the sum of exp(x[i]-shift), accumulated in
// float64. The caller guarantees x[i] <= shift for finite x[i].
func sumExp32Generic(x []float32, shift float32) float64 {
	var buf [expChunk]float32
	var sum float64
	for len(x) > 0 {
		n := min(len(x), len(buf))
		sum += expShifted32(buf[:n], x[:n], float64(shift))
		x = x[n:]
	}
	return sum
}

// sumExp64Generic returns the sum of exp(x[i]-shift).
func sumExp64Generic(x []float64, shift float64) float64 {
	var buf [expChunk]float64
	var sum float64
	s := expShift[float64]{m: shift, a: shift, vmin: expMin64}
	for len(x) > 0 {
		n := min(len(x), len(buf))
		sum += expShifted64(buf[:n], x[:n], s)
		x = x[n:]
	}
	return sum
}

// storeExp32Generic sets dst[i] = exp(x[i]-m), where s decomposes m, and
// returns the sum of the values stored, accumulated in float64. dst and x
// have equal lengths.
func storeExp32Generic(dst, x []float32, s expShift[float32]) float64 {
	return expShifted32(dst, x, float64(s.m))
}

// storeExp64Generic is storeExp32Generic for float64.
func storeExp64Generic(dst, x []float64, s expShift[float64]) float64 {
	return expShifted64(dst, x, s)
}

// scaleGeneric multiplies every element of x by c.
func scaleGeneric[F Float](x []F, c F) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		v[0] *= c
		v[1] *= c
		v[2] *= c
		v[3] *= c
	}
	for ; i < len(x); i++ {
		x[i] *= c
	}
}

// storeExpScaled32Generic sets dst[i] = exp(x[i]-m) * c, where s
// decomposes m.
func storeExpScaled32Generic(dst, x []float32, s expShift[float32], c float32) {
	m := float64(s.m)
	for len(x) > 0 {
		n := min(len(x), expChunk)
		expShifted32(dst[:n], x[:n], m)
		scaleGeneric(dst[:n], c)
		dst, x = dst[n:], x[n:]
	}
}

// storeExpScaled64Generic is storeExpScaled32Generic for float64.
func storeExpScaled64Generic(dst, x []float64, s expShift[float64], c float64) {
	for len(x) > 0 {
		n := min(len(x), expChunk)
		expShifted64(dst[:n], x[:n], s)
		scaleGeneric(dst[:n], c)
		dst, x = dst[n:], x[n:]
	}
}

// storeLogSoftmaxGeneric sets dst[i] = (x[i]-shift) - logSum. The two
// subtractions are kept apart: x[i]-shift is exact when x[i] is near the
// maximum, which keeps the result accurate when shift is large.
func storeLogSoftmaxGeneric[F Float](dst, x []F, shift, logSum F) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = (v - shift) - logSum
	}
}

// maxSumExp32Generic returns the maximum m of x and the sum of exp(x[i]-m)
// in one call, the contract of the SIMD kernels' one-pass (online)
// normalizer: when x holds NaN or +Inf the sum is NaN; otherwise m is the
// larger of max(x) and the lowest finite float32, so that a block of only
// -Inf gives (lowest, 0). The SIMD kernels read x once; this reference
// reads it twice.
func maxSumExp32Generic(x []float32) (float32, float64) {
	m := max(maxOfGeneric(x), -math.MaxFloat32)
	return m, sumExp32Generic(x, m)
}

// maxSumExp64Generic is maxSumExp32Generic for float64.
func maxSumExp64Generic(x []float64) (float64, float64) {
	m := max(maxOfGeneric(x), -math.MaxFloat64)
	return m, sumExp64Generic(x, m)
}
