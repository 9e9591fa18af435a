package softmax

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kernelOps runs every kernel operation once on x (and on dst where the
// operation writes), under whichever kernel is active, and returns what
// each produced, so that two kernels can be compared and so that guard
// pages can watch every operation's memory accesses.
type kernelResults[F Float] struct {
	max, maxSumMax                 F
	sumExp, storeExpSum, maxSumSum float64
	storeExp, scaled, expScaled    []F
	logSoftmax                     []F
}

func runKernelOps[F Float](dst, x []F, wantResults bool) kernelResults[F] {
	var res kernelResults[F]
	if len(x) == 0 {
		// Every kernel must accept empty slices for the writing operations.
		if is32[F]() {
			scale32(as32(dst), 2)
			storeExp32(as32(dst), as32(x), newExpShift[float32](0))
			storeExpScaled32(as32(dst), as32(x), newExpShift[float32](0), 1)
			storeLogSoftmax32(as32(dst), as32(x), 0, 0)
		} else {
			scale64(as64(dst), 2)
			storeExp64(as64(dst), as64(x), newExpShift[float64](0))
			storeExpScaled64(as64(dst), as64(x), newExpShift[float64](0), 1)
			storeLogSoftmax64(as64(dst), as64(x), 0, 0)
		}
		return res
	}
	save := func(y []F) []F {
		if !wantResults {
			return nil
		}
		return append([]F(nil), y...)
	}

	res.max = maxOf(x)
	m := max(res.max, lowest[F]())
	if !isFinite(m) {
		m = 0
	}
	s32, s64 := newExpShift(float32(m)), newExpShift(float64(m))
	if is32[F]() {
		res.sumExp = sumExp32(as32(x), float32(m))
		res.storeExpSum = storeExp32(as32(dst), as32(x), s32)
		res.storeExp = save(dst)
		scale32(as32(dst), 0.75)
		res.scaled = save(dst)
		storeExpScaled32(as32(dst), as32(x), s32, 0.5)
		res.expScaled = save(dst)
		storeLogSoftmax32(as32(dst), as32(x), float32(m), 1.25)
		res.logSoftmax = save(dst)
		mm, ss := maxSumExp32(as32(x))
		res.maxSumMax, res.maxSumSum = F(mm), ss
	} else {
		res.sumExp = sumExp64(as64(x), float64(m))
		res.storeExpSum = storeExp64(as64(dst), as64(x), s64)
		res.storeExp = save(dst)
		scale64(as64(dst), 0.75)
		res.scaled = save(dst)
		storeExpScaled64(as64(dst), as64(x), s64, 0.5)
		res.expScaled = save(dst)
		storeLogSoftmax64(as64(dst), as64(x), float64(m), 1.25)
		res.logSoftmax = save(dst)
		mm, ss := maxSumExp64(as64(x))
		res.maxSumMax, res.maxSumSum = F(mm), ss
	}
	return res
}

// kernelTolerance is how far two kernels' exponentials may differ: a few
// units in the last place, since each kernel's exp is within about 2.
func kernelTolerance[F Float]() float64 {
	if is32[F]() {
		return 8e-7
	}
	return 2e-15
}

func closeRel[F Float](a, b float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	if a == b {
		return true
	}
	// Results under the smallest normal number may be flushed.
	if math.Abs(a) < smallestNormal[F]() && math.Abs(b) < smallestNormal[F]() {
		return true
	}
	return math.Abs(a-b) <= kernelTolerance[F]()*math.Max(math.Abs(a), math.Abs(b))
}

// compareKernelResults fails t where got (a SIMD kernel) and want (the
// generic kernel) disagree beyond rounding.
func compareKernelResults[F Float](t *testing.T, what string, got, want kernelResults[F]) {
	t.Helper()
	if !closeRel[F](float64(got.max), float64(want.max)) {
		t.Errorf("%s: max %g, generic %g", what, got.max, want.max)
	}
	// The summing kernels round x-shift to F, so a sum may differ by the
	// contract's tolerance rather than a few ulp.
	sumOK := func(a, b float64) bool {
		return a == b || math.Abs(a-b) <= tolerance[F]()/4*math.Abs(b) || (a != a && b != b)
	}
	if !sumOK(got.sumExp, want.sumExp) {
		t.Errorf("%s: sumExp %g, generic %g", what, got.sumExp, want.sumExp)
	}
	if !sumOK(got.storeExpSum, want.storeExpSum) {
		t.Errorf("%s: storeExp sum %g, generic %g", what, got.storeExpSum, want.storeExpSum)
	}
	if got.maxSumMax != want.maxSumMax && !(got.maxSumSum != got.maxSumSum) {
		t.Errorf("%s: maxSumExp max %g, generic %g", what, got.maxSumMax, want.maxSumMax)
	}
	if !sumOK(got.maxSumSum, want.maxSumSum) {
		t.Errorf("%s: maxSumExp sum %g, generic %g", what, got.maxSumSum, want.maxSumSum)
	}
	for _, c := range []struct {
		name      string
		got, want []F
		exact     bool
	}{
		{"storeExp", got.storeExp, want.storeExp, false},
		{"scale", got.scaled, want.scaled, false},
		{"storeExpScaled", got.expScaled, want.expScaled, false},
		{"storeLogSoftmax", got.logSoftmax, want.logSoftmax, true},
	} {
		bad := 0
		for i := range c.want {
			g, w := float64(c.got[i]), float64(c.want[i])
			ok := closeRel[F](g, w)
			if c.exact {
				ok = g == w || (g != g && w != w)
			}
			if !ok {
				if bad++; bad <= 3 {
					t.Errorf("%s: %s[%d] = %g, generic %g", what, c.name, i, g, w)
				}
			}
		}
	}
}

// TestKernelsMatchGeneric runs each SIMD kernel against the generic one at
// every length 0..1100 and from every alignment of the start within a
// vector register, on inputs that include masked entries and values on
// both sides of the exp flush threshold.
func TestKernelsMatchGeneric(t *testing.T) {
	t.Run("float32", kernelsMatchGeneric[float32])
	t.Run("float64", kernelsMatchGeneric[float64])
}

func kernelsMatchGeneric[F Float](t *testing.T) {
	simd := supportedKernels()[:0:0]
	for _, k := range supportedKernels() {
		if k != kernelGeneric {
			simd = append(simd, k)
		}
	}
	if len(simd) == 0 {
		t.Skip("this build has no SIMD kernel: only the generic kernel runs")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	const maxLen, maxOffset = 1100, 8
	buf := randomLogits[F](rng, maxLen+maxOffset, 10)
	for i := range buf {
		switch rng.IntN(50) {
		case 0:
			buf[i] = F(math.Inf(-1))
		case 1:
			buf[i] -= 90 // near the float32 flush threshold
		case 2:
			buf[i] -= 705 // near the float64 flush threshold
		}
	}
	dstBuf := make([]F, maxLen+maxOffset)
	for _, k := range simd {
		t.Run(k.String(), func(t *testing.T) {
			for n := 0; n <= maxLen; n++ {
				for off := 0; off < maxOffset; off++ {
					if n > 64 && off != 0 && off != 3 {
						continue // every alignment on short lengths, two on long ones
					}
					x := buf[off : off+n]
					dst := dstBuf[maxOffset-off : maxOffset-off+n]
					restore := useKernel(kernelGeneric)
					want := runKernelOps(dst, x, true)
					restore()
					restore = useKernel(k)
					got := runKernelOps(dst, x, true)
					restore()
					compareKernelResults(t, fmt.Sprintf("n=%d offset=%d", n, off), got, want)
				}
			}
		})
	}
}

// TestKernelSpecialValues checks that every kernel propagates NaN and +Inf
// to the sums and gives exactly 0 for -Inf, wherever in the vector (body
// or tail) they fall.
func TestKernelSpecialValues(t *testing.T) {
	t.Run("float32", kernelSpecialValues[float32])
	t.Run("float64", kernelSpecialValues[float64])
}

func kernelSpecialValues[F Float](t *testing.T) {
	for _, k := range supportedKernels() {
		t.Run(k.String(), func(t *testing.T) {
			defer useKernel(k)()
			for n := 1; n <= 70; n++ {
				for p := 0; p < n; p++ {
					x := make([]F, n)
					dst := make([]F, n)
					x[p] = F(math.NaN())
					if _, s := maxSumExp(x); s == s {
						t.Errorf("n=%d: NaN at %d: maxSumExp sum %g, want NaN", n, p, s)
					}
					if s := sumExp(x, 0); s == s {
						t.Errorf("n=%d: NaN at %d: sumExp %g, want NaN", n, p, s)
					}
					if s := storeExp(dst, x, 0); s == s || dst[p] == dst[p] {
						t.Errorf("n=%d: NaN at %d: storeExp sum %g, dst %g, want NaN", n, p, s, dst[p])
					}
					x[p] = F(math.Inf(1))
					if _, s := maxSumExp(x); s == s {
						t.Errorf("n=%d: +Inf at %d: maxSumExp sum %g, want NaN", n, p, s)
					}
					x[p] = F(math.Inf(-1))
					if s := storeExp(dst, x, 0); dst[p] != 0 || s != float64(n-1) {
						t.Errorf("n=%d: -Inf at %d: storeExp gives %g, sum %g", n, p, dst[p], s)
					}
					if m, s := maxSumExp(x); (n > 1 && (m != 0 || s != float64(n-1))) ||
						(n == 1 && s != 0) {
						t.Errorf("n=%d: -Inf at %d: maxSumExp (%g, %g)", n, p, m, s)
					}
				}
			}
		})
	}
}
