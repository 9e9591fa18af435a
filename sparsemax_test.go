package softmax

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The reference for every test below is the sort-based definition of
// sparsemax evaluated in exact rational arithmetic: the support that the
// library must reproduce exactly, and the threshold and outputs that it must
// reproduce to within rounding.

// exactResult is the sort-based definition of sparsemax of one vector,
// evaluated exactly.
type exactResult struct {
	ok      bool      // false for NaN or +Inf anywhere, or every element -Inf
	support int       // the support size
	tau     *big.Rat  // the threshold
	y       []float64 // the outputs, each exact value rounded to float64
}

// exactSparsemax evaluates the sort-based definition on x in exact rational
// arithmetic: sort the finite inputs in descending order, take the largest k
// with 1 + k·z_(k) > z_(1) + ... + z_(k), then tau = (z_(1) + ... + z_(k) - 1)/k.
func exactSparsemax[F Float](x []F) exactResult {
	var z []float64
	for _, v := range x {
		f := float64(v)
		switch {
		case f != f || math.IsInf(f, 1):
			return exactResult{}
		case !math.IsInf(f, -1):
			z = append(z, f)
		}
	}
	if len(z) == 0 {
		return exactResult{}
	}
	slices.Sort(z)
	slices.Reverse(z)

	one := big.NewRat(1, 1)
	sum := new(big.Rat)
	k := 0
	for _, v := range z {
		zk := new(big.Rat).SetFloat64(v)
		lhs := new(big.Rat).Mul(big.NewRat(int64(k+1), 1), zk)
		lhs.Add(lhs, one)
		rhs := new(big.Rat).Add(sum, zk)
		if lhs.Cmp(rhs) <= 0 {
			break
		}
		sum = rhs
		k++
	}
	tau := new(big.Rat).Sub(sum, one)
	tau.Quo(tau, big.NewRat(int64(k), 1))

	// An input clearly below the threshold gets 0 without a rational
	// comparison.
	tauF, _ := tau.Float64()
	floor := tauF - 1e-9*math.Abs(tauF) - 1e-300
	y := make([]float64, len(x))
	for i, v := range x {
		f := float64(v)
		if f < floor {
			continue
		}
		d := new(big.Rat).SetFloat64(f)
		if d.Sub(d, tau).Sign() > 0 {
			y[i], _ = d.Float64()
		}
	}
	return exactResult{ok: true, support: k, tau: tau, y: y}
}

// outputWithin reports whether got is an acceptable output of type F for
// the exact value want (rounded to float64): within a few units of rounding
// of float64, then rounded to F.
func outputWithin[F Float](got F, want float64) bool {
	g := float64(got)
	tol := 8*roundoff*want + 1e-30
	if is32[F]() {
		tol += 0x1p-24*want + 0x1p-149
	}
	return g >= 0 && math.Abs(g-want) <= tol
}

// thresholdWithin reports whether got is an acceptable threshold of type F
// for the exact value tau.
func thresholdWithin[F Float](got F, tau *big.Rat) bool {
	want, _ := tau.Float64()
	g := float64(got)
	tol := 8*roundoff*math.Abs(want) + 1e-30
	if is32[F]() {
		tol += 0x1p-24 * math.Abs(want)
		if math.Abs(want) > math.MaxFloat32 {
			return math.IsInf(g, int(math.Copysign(1, want))) ||
				math.Abs(g) == math.MaxFloat32
		}
	}
	return math.Abs(g-want) <= tol
}

// checkSparsemax fails t unless y, threshold and support are what Sparsemax
// must return for x, by the exact reference and the properties every
// result has: outputs non-negative and summing to 1 (within 1e-6 for
// float32, 1e-14 for float64), and the support the number of positive
// outputs.
func checkSparsemax[F Float](t testing.TB, what string, x, y []F, threshold F, support int) {
	t.Helper()
	ref := exactSparsemax(x)
	if !ref.ok {
		if support != 0 || threshold == threshold {
			t.Errorf("%s: n=%d: threshold %g, support %d; want NaN, 0", what, len(x),
				threshold, support)
		}
		for i, v := range y {
			if v == v {
				t.Errorf("%s: n=%d: y[%d] = %g, want NaN", what, len(x), i, v)
				return
			}
		}
		return
	}

	if support != ref.support {
		t.Errorf("%s: n=%d: support %d, want %d (x = %v)", what, len(x), support,
			ref.support, short(x))
		return
	}
	if !thresholdWithin(threshold, ref.tau) {
		want, _ := ref.tau.Float64()
		t.Errorf("%s: n=%d: threshold %g, want %g", what, len(x), threshold, want)
	}
	bad := 0
	var sum neumaier
	positive := 0
	for i, v := range y {
		if !outputWithin(v, ref.y[i]) {
			if bad++; bad <= 3 {
				t.Errorf("%s: n=%d: y[%d] = %g, want %g (x[i] = %g)", what, len(x), i,
					v, ref.y[i], x[i])
			}
		}
		sum.add(float64(v))
		if v > 0 {
			positive++
		}
	}
	tol := 1e-14
	if is32[F]() {
		tol = 1e-6
	}
	if s := sum.total(); math.Abs(s-1) > tol {
		t.Errorf("%s: n=%d: outputs sum to 1%+g", what, len(x), s-1)
	}
	// An output on the support can only round to 0 in float32, when it is
	// below the smallest subnormal.
	if positive != support && !(is32[F]() && positive < support) {
		t.Errorf("%s: n=%d: %d positive outputs, support %d", what, len(x), positive, support)
	}
}

// short abbreviates a vector for a failure message.
func short[F Float](x []F) string {
	if len(x) <= 12 {
		return fmt.Sprint(x)
	}
	return fmt.Sprint(x[:12]) + "..."
}

// forEachMaxKernel runs f as a subtest under every kernel this CPU can run;
// of the kernels, sparsemax uses only the maximum.
func forEachMaxKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, k := range supportedKernels() {
		t.Run(k.String(), func(t *testing.T) {
			defer useKernel(k)()
			f(t)
		})
	}
}

// sparsemaxCheck runs Sparsemax on x out of place and in place, checks the
// first against the reference and the second against the first, bit for
// bit, and returns the output.
func sparsemaxCheck[F Float](t testing.TB, what string, x []F) []F {
	t.Helper()
	y := make([]F, len(x))
	for i := range y {
		y[i] = -7 // every output must be written
	}
	tau, k := Sparsemax(y, x)
	checkSparsemax(t, what, x, y, tau, k)

	z := slices.Clone(x)
	tau2, k2 := Sparsemax(z, z)
	if k2 != k || !sameBits(tau2, tau) || !equalBits(z, y) {
		t.Errorf("%s: n=%d: in place gives threshold %g, support %d; out of place %g, %d",
			what, len(x), tau2, k2, tau, k)
	}
	return y
}

// sameBits reports whether a and b are the same value, NaN included.
func sameBits[F Float](a, b F) bool {
	return a == b || (a != a && b != b)
}

func equalBits[F Float](a, b []F) bool {
	return slices.EqualFunc(a, b, sameBits[F])
}

func TestSparsemaxCases(t *testing.T) {
	var file struct {
		Cases []struct {
			Input     []jsonFloat `json:"input"`
			Sparsemax []jsonFloat `json:"sparsemax"`
			Threshold jsonFloat   `json:"threshold"`
			Support   int         `json:"support"`
		} `json:"cases"`
	}
	readCases(t, "testdata/cases/sparsemax.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases read")
	}
	forEachMaxKernel(t, func(t *testing.T) {
		for i, c := range file.Cases {
			x64 := make([]float64, len(c.Input))
			x32 := make([]float32, len(c.Input))
			exact32 := true
			for j, v := range c.Input {
				x64[j], x32[j] = float64(v), float32(v)
				exact32 = exact32 && float64(x32[j]) == x64[j]
			}
			what := fmt.Sprintf("case %d %v", i, x64)

			// float64: the file's values, to within rounding; the
			// support exactly.
			y := sparsemaxCheck(t, what, x64)
			tau, k := Sparsemax(y, x64)
			if k != c.Support || math.Abs(tau-float64(c.Threshold)) >
				4*roundoff*math.Abs(float64(c.Threshold)) {
				t.Errorf("%s: threshold %g, support %d; file %g, %d", what, tau, k,
					c.Threshold, c.Support)
			}
			for j := range y {
				if !outputWithin(y[j], float64(c.Sparsemax[j])) {
					t.Errorf("%s: y[%d] = %g, file %g", what, j, y[j], c.Sparsemax[j])
				}
			}

			// float32: the file's values where every input is a float32;
			// otherwise the reference of the rounded inputs.
			y32 := sparsemaxCheck(t, what+" float32", x32)
			if exact32 {
				tau32, k32 := Sparsemax(y32, x32)
				if k32 != c.Support ||
					float32(tau32) != float32(float64(c.Threshold)) {
					t.Errorf("%s float32: threshold %g, support %d; file %g, %d", what,
						tau32, k32, c.Threshold, c.Support)
				}
				for j := range y32 {
					if !outputWithin(y32[j], float64(c.Sparsemax[j])) {
						t.Errorf("%s float32: y[%d] = %g, file %g", what, j, y32[j],
							c.Sparsemax[j])
					}
				}
			}
		}
	})
}

func TestSparsemaxEveryLength(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxEveryLength[float32])
		t.Run("float64", sparsemaxEveryLength[float64])
	})
}

// sparsemaxEveryLength checks every length 0..300 with logits of several
// spreads: wide ones give a support of a few elements, narrow ones a
// support of most of the vector. For each it also checks that adding a
// constant to every input changes nothing and that -Inf entries get 0 and
// change nothing else.
func sparsemaxEveryLength[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for n := 0; n <= 300; n++ {
		for _, scale := range []float64{0.001, 0.05, 1, 30} {
			// Inputs on a grid of 2^-20 (of 2^-10 for the widest), so that
			// adding an integer is exact in either type.
			x := make([]F, n)
			for i := range x {
				q := math.Round(rng.NormFloat64() * scale * 0x1p20)
				x[i] = F(q * 0x1p-20)
			}
			what := fmt.Sprintf("scale %g", scale)
			y := sparsemaxCheck(t, what, x)
			if n == 0 {
				continue
			}
			tau, k := Sparsemax(make([]F, n), x)

			// Adding a constant (exactly) changes the threshold by it and
			// nothing else; the outputs agree to within rounding, since
			// the shift can change the arithmetic the solver picks.
			shift := F(rng.IntN(17) - 8)
			xs := make([]F, n)
			for i, v := range x {
				xs[i] = v + shift
			}
			ys := sparsemaxCheck(t, what+" shifted", xs)
			taus, ks := Sparsemax(make([]F, n), xs)
			if ks != k || !thresholdCloseTo(taus-shift, tau, shift) {
				t.Errorf("%s: n=%d: adding %g changes threshold %g to %g, support %d to %d",
					what, n, shift, tau, taus, k, ks)
			}
			for i := range ys {
				if !closeOutputs(ys[i], y[i]) {
					t.Errorf("%s: n=%d: adding %g changes y[%d] from %g to %g", what, n,
						shift, i, y[i], ys[i])
					break
				}
			}

			// Insert -Inf entries at random places.
			var masked []F
			var keep []int
			for _, v := range x {
				for rng.IntN(4) == 0 {
					masked = append(masked, F(math.Inf(-1)))
				}
				keep = append(keep, len(masked))
				masked = append(masked, v)
			}
			ym := make([]F, len(masked))
			taum, km := Sparsemax(ym, masked)
			if km != k || !sameBits(taum, tau) {
				t.Errorf("%s: n=%d: -Inf entries change threshold %g to %g, support %d to %d",
					what, n, tau, taum, k, km)
			}
			for i, j := range keep {
				if !sameBits(ym[j], y[i]) {
					t.Errorf("%s: n=%d: -Inf entries change y[%d] from %g to %g", what, n,
						i, y[i], ym[j])
					break
				}
			}
			for j, v := range masked {
				if math.IsInf(float64(v), -1) && ym[j] != 0 {
					t.Errorf("%s: n=%d: a -Inf entry gets %g", what, n, ym[j])
					break
				}
			}
		}
	}
}

// closeOutputs reports whether two outputs computed for the same exact
// value agree to within their rounding.
func closeOutputs[F Float](a, b F) bool {
	tol := 16*roundoff*math.Abs(float64(b)) + 1e-30
	if is32[F]() {
		tol += 0x1p-23*math.Abs(float64(b)) + 0x1p-149
	}
	return math.Abs(float64(a)-float64(b)) <= tol
}

// thresholdCloseTo reports whether a threshold recomputed after a shift
// (then subtracted) is within rounding of the original one; each was
// rounded to F at its own magnitude.
func thresholdCloseTo[F Float](a, b, shift F) bool {
	tol := 16 * roundoff
	if is32[F]() {
		tol = 0x1p-22
	}
	scale := 1 + math.Abs(float64(b)) + math.Abs(float64(shift))
	return math.Abs(float64(a)-float64(b)) <= tol*scale
}

func TestSparsemaxLarge(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxLarge[float32])
		t.Run("float64", sparsemaxLarge[float64])
	})
}

// sparsemaxLarge checks large vectors: normal logits of several spreads
// against the exact reference, and the benchmarks' ramp and equal inputs,
// whose support is everything, against the sort-based definition in
// floating point.
func sparsemaxLarge[F Float](t *testing.T) {
	sizes := []int{1000, 4097, 100000, 1 << 20}
	if testing.Short() {
		sizes = sizes[:3]
	}
	rng := rand.New(rand.NewPCG(33, 34))
	for _, n := range sizes {
		for _, scale := range []float64{1e-4, 0.01, 1, 10} {
			x := randomLogits[F](rng, n, scale)
			sparsemaxCheck(t, fmt.Sprintf("normal(%g)", scale), x)
		}
		for _, kind := range []string{"ramp", "equal"} {
			x := sparsemaxBenchInput[F](kind, n)
			y, want := make([]F, n), make([]F, n)
			tau, k := Sparsemax(y, x)
			wantTau, wantK := sortSparsemax(want, x, make([]F, n))
			if k != wantK || k != n || !thresholdCloseTo(tau, wantTau, 0) {
				t.Errorf("%s-%d: threshold %g, support %d; sort-based %g, %d", kind, n, tau,
					k, wantTau, wantK)
			}
			var sum neumaier
			for i := range y {
				sum.add(float64(y[i]))
				if math.Abs(float64(y[i])-float64(want[i])) > 1e-6/float64(n) {
					t.Errorf("%s-%d: y[%d] = %g, sort-based %g", kind, n, i, y[i], want[i])
					break
				}
			}
			tol := 1e-14
			if is32[F]() {
				tol = 1e-6
			}
			if math.Abs(sum.total()-1) > tol {
				t.Errorf("%s-%d: outputs sum to 1%+g", kind, n, sum.total()-1)
			}
		}
	}
}

func TestSparsemaxTies(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxTies[float32])
		t.Run("float64", sparsemaxTies[float64])
	})
}

// sparsemaxTies checks inputs with ties, many of them exactly at the
// threshold: one-hot logits, small integers, and values on a coarse grid,
// where the outputs of the tied inputs are exactly 0 and the support must
// leave them out, as the sort-based definition does.
func sparsemaxTies[F Float](t *testing.T) {
	cases := map[string][]F{
		"one above zeros":   append([]F{1}, make([]F, 50)...),
		"one above many":    append(make([]F, 5000), 1),
		"two and ones":      {2, 1, 1, 0.5},
		"ties at the top":   {3, 3, 3, 1},
		"ties at threshold": {1, 0.5, 0.5, 0.5, -1},
		"all equal":         slices.Repeat([]F{-2.5}, 257),
		"thirds":            {1.0 / 3, -2.0 / 3, -2.0 / 3},
	}
	rng := rand.New(rand.NewPCG(35, 36))
	for trial := range 300 {
		n := 1 + rng.IntN(200)
		x := make([]F, n)
		levels := 2 + rng.IntN(5)
		step := []float64{1, 0.5, 0.25, 1.0 / 3, 0.125}[rng.IntN(5)]
		for i := range x {
			x[i] = F(float64(rng.IntN(levels)) * step)
		}
		cases[fmt.Sprintf("grid %d", trial)] = x
	}
	for name, x := range cases {
		sparsemaxCheck(t, name, x)
	}

	// A tie exactly at the threshold: the tied inputs get 0 and are left
	// out of the support.
	y := make([]F, 4)
	tau, k := Sparsemax(y, []F{2, 1, 1, 0.5})
	if k != 1 || tau != 1 || !slices.Equal(y, []F{1, 0, 0, 0}) {
		t.Errorf("[2 1 1 0.5]: %v, threshold %g, support %d; want [1 0 0 0], 1, 1", y, tau, k)
	}
}

func TestSparsemaxSpecialValues(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxSpecialValues[float32])
		t.Run("float64", sparsemaxSpecialValues[float64])
	})
}

// sparsemaxSpecialValues puts NaN, +Inf and -Inf at every position of short
// vectors and at a few of longer ones (so they land in the filter, in the
// dense pass and in the cleanup), and checks the magnitudes at the edges of
// the type.
func sparsemaxSpecialValues[F Float](t *testing.T) {
	nan, inf := F(math.NaN()), F(math.Inf(1))
	rng := rand.New(rand.NewPCG(37, 38))
	for _, n := range []int{1, 2, 3, 7, 16, 17, 33, 100, 4097} {
		for _, spread := range []float64{1e-3, 2} {
			base := randomLogits[F](rng, n, spread)
			for _, p := range specialPositions(n) {
				for _, special := range []struct {
					name string
					set  func(x []F)
				}{
					{"NaN", func(x []F) { x[p] = nan }},
					{"+Inf", func(x []F) { x[p] = inf }},
					{"-Inf", func(x []F) { x[p] = -inf }},
					{"NaN and -Inf", func(x []F) { x[p] = nan; x[(p+1)%n] = -inf }},
					{"all -Inf but one", func(x []F) {
						for i := range x {
							x[i] = -inf
						}
						x[p] = 1
					}},
					{"all -Inf but one NaN", func(x []F) {
						for i := range x {
							x[i] = -inf
						}
						x[p] = nan
					}},
				} {
					x := slices.Clone(base)
					special.set(x)
					sparsemaxCheck(t, fmt.Sprintf("%s at %d (spread %g)", special.name, p,
						spread), x)
				}
			}
			sparsemaxCheck(t, "all -Inf", slices.Repeat([]F{-inf}, n))
		}
	}

	// Empty input: dst untouched, threshold NaN, support 0.
	if tau, k := Sparsemax[F](nil, nil); tau == tau || k != 0 {
		t.Errorf("empty: threshold %g, support %d; want NaN, 0", tau, k)
	}

	// Large magnitudes: where adding 1 is lost in F, the support is still
	// right; at the top of the range nothing overflows.
	big := math.MaxFloat64
	if is32[F]() {
		big = math.MaxFloat32
	}
	cases := map[string][]F{
		"1e8 and 1e8-8":     {1e8, 1e8 - 8, 0},
		"1e8 twice":         {1e8, 1e8, 0, -1e8},
		"1e8 ramp":          {1e8, 1e8 - 8, 1e8 - 16, 1e8 + 8},
		"-1e8":              {-1e8, -1e8 - 8, -1e8 + 8},
		"largest":           {F(big), F(big), F(-big)},
		"largest and below": {F(big), F(big / 2), F(-big), 0},
		"tiny":              {0x1p-149, 0, -0x1p-149},
		"subnormal spread":  {1e-40, 3e-41, -1e-39},
		"huge and tiny":     {1e30, 1e-30, -1e30},
	}
	for name, x := range cases {
		sparsemaxCheck(t, name, x)
	}
	y := make([]F, 3)
	if _, k := Sparsemax(y, []F{1e8, 1e8 - 8, 0}); k != 1 || y[0] != 1 {
		t.Errorf("[1e8 1e8-8 0]: %v, support %d; want [1 0 0], 1", y, k)
	}
}

func TestSparsemaxPaths(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxPaths[float32])
		t.Run("float64", sparsemaxPaths[float64])
	})
}

// sparsemaxPaths drives each path of the solver on inputs chosen to reach
// it, and again with the pivoting method forced after one cleanup pass.
func sparsemaxPaths[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	inputs := map[string][]F{}
	for _, n := range []int{20, 100, 1000, 30000} {
		// Normal logits: filter, cleanup passes, certificate.
		inputs[fmt.Sprintf("normal-%d", n)] = randomLogits[F](rng, n, 1)
		// Sorted descending: the filter keeps the first inputs, switches to
		// the dense pass, fails the certificate and collects again.
		x := randomLogits[F](rng, n, 1)
		slices.Sort(x)
		slices.Reverse(x)
		inputs[fmt.Sprintf("descending-%d", n)] = x
		// Sorted ascending: every input passes the filter as it comes.
		inputs[fmt.Sprintf("ascending-%d", n)] = slices.Clone(x)
		slices.Reverse(inputs[fmt.Sprintf("ascending-%d", n)])
		// Half a plateau above the rest.
		p := make([]F, n)
		for i := range p {
			p[i] = F(rng.Float64() * 1e-3)
			if i%2 == 0 {
				p[i] -= 1
			}
		}
		inputs[fmt.Sprintf("plateau-%d", n)] = p
		// Inputs just below the threshold: the maximum alone is the
		// support, and the rest lie a few units of rounding under it,
		// inside the filter's margin but outside the certificate's.
		for _, d := range []float64{1e-17, 2e-16, 1e-15, 3e-15} {
			b := slices.Repeat([]F{F(-d)}, n)
			b[rng.IntN(n)] = 1
			inputs[fmt.Sprintf("just below by %g-%d", d, n)] = b
		}
		// Near ties: inputs one ulp apart around the threshold.
		q := make([]F, n)
		for i := range q {
			q[i] = F(-1)
			for range rng.IntN(3) {
				q[i] = F(math.Nextafter(float64(q[i]), 0))
			}
		}
		q[rng.IntN(n)] = 0
		inputs[fmt.Sprintf("near ties-%d", n)] = q
	}
	// An input 8 units of rounding under the threshold, which the cleanup
	// keeps (its margin is 16) and the certificate's classification drops
	// (its margin is 4): the maximum 2 has the support to itself, with
	// threshold 1, and 1 - 2^-49 is just under it. The far inputs first
	// keep the filter from switching to the dense pass. (In float32 the
	// input rounds further away, and the filter drops it.)
	under := slices.Repeat([]F{-10}, 100)
	inputs["under the threshold"] = append(under, 2, F(1-0x1p-49))

	// With the pass limit lowered to 1, the pivoting prunes after the
	// first cleanup pass that drops anything; at 0, the exact resolution
	// takes over at once.
	for _, passes := range []int{sparsemaxPasses, 1, 0} {
		func() {
			defer func(p int) { sparsemaxPasses = p }(sparsemaxPasses)
			sparsemaxPasses = passes
			for name, x := range inputs {
				sparsemaxCheck(t, fmt.Sprintf("%s (pass limit %d)", name, passes), x)
			}
		}()
	}
}

// TestResolveTies checks the exact resolution directly, with the bound
// that separates the sure candidates set so that none are sure (every
// candidate decided by the exact pivoting) and so that all are (the
// certificate of the sure ones fails whenever not all are in the support,
// and the fallback decides everything).
func TestResolveTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := range 500 {
		n := 1 + rng.IntN(40)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(6)) / float64(1+rng.IntN(4))
		}
		want := exactSparsemax(x).support
		for _, above := range []float64{math.Inf(1), math.Inf(-1)} {
			cand := slices.Clone(x)
			if got := len(resolveTies(cand, 0, above)); got != want {
				t.Errorf("trial %d, %v, above %g: support %d, want %d", trial, x, above, got,
					want)
			}
		}
	}
}

// TestExactSum checks the fixed-point accumulator against math/big on sums
// of products of random float64s (all exponents, subnormals included) and
// integers, where it must give the exact sign.
func TestExactSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	randomFloat := func() float64 {
		for {
			f := math.Float64frombits(rng.Uint64())
			if !math.IsInf(f, 0) && f == f {
				return f
			}
		}
	}
	for trial := range 2000 {
		var a exactSum
		want := new(big.Float).SetPrec(4000)
		terms := 1 + rng.IntN(20)
		for range terms {
			x := randomFloat()
			if trial%3 == 0 {
				x = float64(rng.IntN(9)-4) * math.Ldexp(1, rng.IntN(40)-20)
			}
			k := rng.Uint64() >> rng.IntN(64)
			a.add(x, k)
			p := new(big.Float).SetPrec(4000).SetFloat64(x)
			p.Mul(p, new(big.Float).SetPrec(4000).SetUint64(k))
			want.Add(want, p)
		}
		if trial == 0 {
			// The periodic carry propagation leaves the value alone.
			a.adds = 1<<30 - 1
			a.add(1, 1)
			want.Add(want, big.NewFloat(1))
			if a.adds != 0 {
				t.Errorf("no carry propagation after 2^30 additions")
			}
		}
		// positiveWith(v, k) tells the sign of a + k·v; cancel the sum
		// exactly with a last term, or nearly.
		x := randomFloat()
		got := a.positiveWith(x, 1)
		w := new(big.Float).SetPrec(4000).Add(want, new(big.Float).SetPrec(4000).SetFloat64(x))
		if got != (w.Sign() > 0) {
			t.Errorf("trial %d: sign %v, want %v", trial, got, w.Sign() > 0)
		}
		// When the sum is a float64, subtracting it leaves exactly 0,
		// and subtracting its neighbours leaves a sign.
		if f, acc := want.Float64(); acc == big.Exact && !math.IsInf(f, 0) {
			if a.positiveWith(-f, 1) ||
				!a.positiveWith(math.Nextafter(-f, math.Inf(1)), 1) ||
				a.positiveWith(math.Nextafter(-f, math.Inf(-1)), 1) {
				t.Errorf("trial %d: the exact cancellation of %g is misjudged", trial, f)
			}
		}
	}
}

func TestSparsemaxBackward(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxBackward[float32])
		t.Run("float64", sparsemaxBackward[float64])
	})
	t.Run("finite differences", sparsemaxBackwardFiniteDifferences)
}

// sparsemaxBackward checks the backward pass against its formula, computed
// from the exact support, in and out of place, and its special values.
func sparsemaxBackward[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, n := range []int{1, 2, 5, 30, 1000} {
		for _, scale := range []float64{0.01, 1} {
			z := randomLogits[F](rng, n, scale)
			g := randomLogits[F](rng, n, 1)
			p := make([]F, n)
			Sparsemax(p, z)
			ref := exactSparsemax(z)

			var mean float64
			for i := range p {
				if ref.y[i] > 0 {
					mean += float64(g[i])
				}
			}
			mean /= float64(ref.support)
			dst := make([]F, n)
			SparsemaxBackward(dst, p, g)
			for i := range dst {
				want := 0.0
				if ref.y[i] > 0 {
					want = float64(g[i]) - mean
				}
				if math.Abs(float64(dst[i])-want) > tolerance[F]()*(1+math.Abs(want)) {
					t.Errorf("n=%d: dst[%d] = %g, want %g", n, i, dst[i], want)
				}
			}
			for _, inPlace := range []string{"g", "p"} {
				d, pp, gg := slices.Clone(g), slices.Clone(p), slices.Clone(g)
				if inPlace == "p" {
					d = pp
				} else {
					d = gg
				}
				SparsemaxBackward(d, pp, gg)
				if !equalBits(d, dst) {
					t.Errorf("n=%d: dst = %s differs", n, inPlace)
				}
			}
		}
	}

	// A NaN in p makes every output NaN; one in g on the support makes
	// the support's outputs NaN and leaves the rest 0.
	nan := F(math.NaN())
	dst := make([]F, 3)
	SparsemaxBackward(dst, []F{0.5, nan, 0.5}, []F{1, 2, 3})
	for i, v := range dst {
		if v == v {
			t.Errorf("NaN in p: dst[%d] = %g, want NaN", i, v)
		}
	}
	SparsemaxBackward(dst, []F{0.5, 0, 0.5}, []F{nan, 2, 3})
	if dst[0] == dst[0] || dst[2] == dst[2] || dst[1] != 0 {
		t.Errorf("NaN in g: dst = %v, want [NaN 0 NaN]", dst)
	}
}

// sparsemaxBackwardFiniteDifferences checks that the backward pass is the
// Jacobian of Sparsemax: J·v against central differences of Sparsemax along
// v, at points where the support does not change within the step.
func sparsemaxBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	checked := 0
	for trial := range 200 {
		n := 2 + rng.IntN(60)
		z := randomLogits[float64](rng, n, 0.5)
		v := randomLogits[float64](rng, n, 1)
		const h = 1e-6
		zp, zm := slices.Clone(z), slices.Clone(z)
		for i := range z {
			zp[i] += h * v[i]
			zm[i] -= h * v[i]
		}
		p, pp, pm := make([]float64, n), make([]float64, n), make([]float64, n)
		_, k := Sparsemax(p, z)
		_, kp := Sparsemax(pp, zp)
		_, km := Sparsemax(pm, zm)
		if kp != k || km != k {
			continue // the support changes within the step: not differentiable here
		}
		checked++
		jv := make([]float64, n)
		SparsemaxBackward(jv, p, v)
		for i := range jv {
			fd := (pp[i] - pm[i]) / (2 * h)
			if math.Abs(fd-jv[i]) > 1e-7 {
				t.Errorf("trial %d: (J·v)[%d] = %g, finite difference %g", trial, i, jv[i], fd)
			}
		}
	}
	if checked < 150 {
		t.Errorf("only %d of 200 points were checked", checked)
	}
}

// paperLoss is the sparsemax loss of Martins and Astudillo (2016), in the
// paper's form, -q·z + ½·Σ_{j in S}(z_j² - tau²) + ½·‖q‖², evaluated in
// exact rational arithmetic from the exact support and threshold.
func paperLoss(z, q []float64) float64 {
	ref := exactSparsemax(z)
	half := big.NewRat(1, 2)
	loss := new(big.Rat)
	tau2 := new(big.Rat).Mul(ref.tau, ref.tau)
	for j, zj := range z {
		r := new(big.Rat).SetFloat64(zj)
		if ref.y[j] > 0 {
			sq := new(big.Rat).Mul(r, r)
			sq.Sub(sq, tau2)
			loss.Add(loss, sq.Mul(sq, half))
		}
		if q[j] != 0 {
			qj := new(big.Rat).SetFloat64(q[j])
			loss.Sub(loss, new(big.Rat).Mul(qj, r))
			loss.Add(loss, new(big.Rat).Mul(half, new(big.Rat).Mul(qj, qj)))
		}
	}
	f, _ := loss.Float64()
	return f
}

func TestSparsemaxLoss(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxLoss[float32])
		t.Run("float64", sparsemaxLoss[float64])
	})
	t.Run("finite differences", sparsemaxLossFiniteDifferences)
}

// sparsemaxLoss checks the loss of a class against the paper's formula and
// its gradient against Sparsemax minus the one-hot target, the loss of a
// distribution likewise (and against the loss of a class for a one-hot
// distribution), in and out of place, and their special values.
func sparsemaxLoss[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	for _, n := range []int{1, 2, 3, 10, 257, 5000} {
		for _, scale := range []float64{0.1, 2} {
			z := randomLogits[F](rng, n, scale)
			z64 := make([]float64, n)
			for i, v := range z {
				z64[i] = float64(v)
			}
			target := rng.IntN(n)
			onehot := make([]float64, n)
			onehot[target] = 1
			want := paperLoss(z64, onehot)
			tol := tolerance[F]() * (1 + math.Abs(want)) * 4

			p := make([]F, n)
			Sparsemax(p, z)
			grad := make([]F, n)
			loss := SparsemaxLoss(grad, z, target)
			if math.Abs(float64(loss)-want) > tol {
				t.Errorf("n=%d: loss %g, paper's %g", n, loss, want)
			}
			if l := SparsemaxLoss(nil, z, target); l != loss {
				t.Errorf("n=%d: loss without gradient %g, with %g", n, l, loss)
			}
			for i := range grad {
				w := p[i]
				if i == target {
					w--
				}
				if grad[i] != w {
					t.Errorf("n=%d: grad[%d] = %g, want %g", n, i, grad[i], w)
					break
				}
			}
			inPlace := slices.Clone(z)
			if l := SparsemaxLoss(inPlace, inPlace, target); l != loss || !equalBits(inPlace, grad) {
				t.Errorf("n=%d: in place, loss %g (want %g) or gradient differs", n, l, loss)
			}

			// A distribution: one-hot first, then a random one.
			qh := make([]F, n)
			qh[target] = 1
			if l := SparsemaxLossDist(nil, z, qh); math.Abs(float64(l-loss)) > tol {
				t.Errorf("n=%d: one-hot distribution loss %g, class loss %g", n, l, loss)
			}
			q := make([]F, n)
			var qs float64
			for i := range q {
				if rng.IntN(3) == 0 {
					q[i] = F(rng.Float64())
					qs += float64(q[i])
				}
			}
			if qs == 0 {
				q[target], qs = 1, 1
			}
			q64 := make([]float64, n)
			for i := range q {
				q[i] = F(float64(q[i]) / qs)
				q64[i] = float64(q[i])
			}
			want = paperLoss(z64, q64)
			gd := make([]F, n)
			ld := SparsemaxLossDist(gd, z, q)
			// q sums to 1 only to within rounding, which the two forms
			// of the loss weigh differently.
			if math.Abs(float64(ld)-want) > tol*(1+math.Abs(float64(z64[target]))) {
				t.Errorf("n=%d: distribution loss %g, paper's %g", n, ld, want)
			}
			// The gradient is p - q rounded once; p rounded to F first
			// may differ by an ulp of F.
			for i := range gd {
				if w := F(float64(p[i]) - float64(q[i])); !closeOutputs(gd[i], w) {
					t.Errorf("n=%d: distribution grad[%d] = %g, want %g", n, i, gd[i], w)
					break
				}
			}
			for _, alias := range []string{"logits", "q"} {
				zz, qq := slices.Clone(z), slices.Clone(q)
				g := zz
				if alias == "q" {
					g = qq
				}
				if l := SparsemaxLossDist(g, zz, qq); l != ld || !equalBits(g, gd) {
					t.Errorf("n=%d: distribution loss with grad = %s differs", n, alias)
				}
			}
		}
	}

	// The loss is zero exactly when the target leads by at least 1.
	if l := SparsemaxLoss(nil, []F{0, 3, 2}, 1); l != 0 {
		t.Errorf("margin 1: loss %g, want 0", l)
	}
	if l := SparsemaxLoss(nil, []F{0, 3, 2.5}, 1); !(l > 0) {
		t.Errorf("margin 0.5: loss %g, want > 0", l)
	}
	// Large logits do not cancel.
	if l := SparsemaxLoss(nil, []F{1e8, 1e8 - 8, 0}, 0); l != 0 {
		t.Errorf("[1e8 1e8-8 0], target 0: loss %g, want 0", l)
	}
	// The loss of logits shifted by 1e8 is that of the unshifted ones
	// (in float32, 1e8+0.5 rounds to 1e8).
	shifted, unshifted := []F{1e8, 1e8 + 0.5, 0}, []F{0, 0.5, -1e8}
	if is32[F]() {
		unshifted[1] = 0
	}
	if l, w := SparsemaxLoss(nil, shifted, 0), SparsemaxLoss(nil, unshifted, 0); l != w {
		t.Errorf("shifted by 1e8: loss %g, unshifted %g", l, w)
	}

	// Special values.
	inf := F(math.Inf(1))
	grad := make([]F, 3)
	if l := SparsemaxLoss(grad, []F{1, -inf, 2}, 1); !math.IsInf(float64(l), 1) ||
		!slices.Equal(grad, []F{0, -1, 1}) {
		t.Errorf("masked target: loss %g, grad %v; want +Inf, [0 -1 1]", l, grad)
	}
	if l := SparsemaxLossDist(grad, []F{1, -inf, 2}, []F{0.5, 0, 0.5}); l != l ||
		math.IsInf(float64(l), 0) {
		t.Errorf("masked logit with q = 0: loss %g, want finite", l)
	}
	if l := SparsemaxLossDist(nil, []F{1, -inf, 2}, []F{0.5, 0.5, 0}); !math.IsInf(float64(l), 1) {
		t.Errorf("masked logit with q > 0: loss %g, want +Inf", l)
	}
	if l := SparsemaxLossDist(nil, []F{1, 2}, []F{F(math.NaN()), 1}); l == l {
		t.Errorf("NaN in q: loss %g, want NaN", l)
	}
	for _, x := range [][]F{{1, inf, 2}, {1, F(math.NaN()), 2}, {-inf, -inf, -inf}} {
		for _, l := range []F{SparsemaxLoss(grad, x, 0), SparsemaxLossDist(grad, x, []F{1, 0, 0})} {
			if l == l {
				t.Errorf("%v: loss %g, want NaN", x, l)
			}
			for i, g := range grad {
				if g == g {
					t.Errorf("%v: grad[%d] = %g, want NaN", x, i, g)
				}
			}
		}
	}
	if l := SparsemaxLossDist[F](nil, nil, nil); l == l {
		t.Errorf("empty: distribution loss %g, want NaN", l)
	}
}

// sparsemaxLossFiniteDifferences checks both gradients against central
// differences of the loss, which is continuously differentiable.
func sparsemaxLossFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, n := range []int{2, 7, 64, 1000} {
		z := randomLogits[float64](rng, n, 0.5)
		target := rng.IntN(n)
		q := make([]float64, n)
		for i := range q {
			q[i] = rng.Float64()
		}
		var qs float64
		for _, v := range q {
			qs += v
		}
		for i := range q {
			q[i] /= qs
		}
		grad, gradq := make([]float64, n), make([]float64, n)
		SparsemaxLoss(grad, z, target)
		SparsemaxLossDist(gradq, z, q)
		const h = 1e-6
		for _, i := range []int{0, target, n / 2, n - 1} {
			zp, zm := slices.Clone(z), slices.Clone(z)
			zp[i] += h
			zm[i] -= h
			fd := (SparsemaxLoss(nil, zp, target) - SparsemaxLoss(nil, zm, target)) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-6 {
				t.Errorf("n=%d: grad[%d] = %g, finite difference %g", n, i, grad[i], fd)
			}
			fd = (SparsemaxLossDist(nil, zp, q) - SparsemaxLossDist(nil, zm, q)) / (2 * h)
			if math.Abs(fd-gradq[i]) > 1e-6 {
				t.Errorf("n=%d: distribution grad[%d] = %g, finite difference %g", n, i,
					gradq[i], fd)
			}
		}
	}
}

func TestSparsemaxRows(t *testing.T) {
	forEachMaxKernel(t, func(t *testing.T) {
		t.Run("float32", sparsemaxRows[float32])
		t.Run("float64", sparsemaxRows[float64])
	})
}

// sparsemaxRows checks each row-wise form against the vector form on every
// row, with padding between rows that must stay untouched, and in place.
func sparsemaxRows[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	const sentinel = -12345
	for _, shape := range [][3]int{{0, 5, 5}, {1, 0, 0}, {1, 7, 7}, {3, 10, 10}, {4, 33, 40},
		{5, 1, 3}, {3, 500, 503}} {
		rows, cols, stride := shape[0], shape[1], shape[2]
		size := 0
		if rows > 0 {
			size = (rows-1)*stride + cols
		}
		src := randomLogits[F](rng, size, 0.3)
		g := randomLogits[F](rng, size, 1)
		q := make([]F, size)
		for r := 0; r < rows; r++ {
			for c := cols; c < stride && r*stride+c < size; c++ {
				src[r*stride+c], g[r*stride+c] = sentinel, sentinel
			}
			if cols > 0 {
				q[r*stride+rng.IntN(cols)] = 1
			}
		}
		targets := make([]int, rows)
		for r := range targets {
			if cols > 0 {
				targets[r] = rng.IntN(cols)
			}
		}
		row := func(x []F, r int) []F { return x[r*stride : r*stride+cols] }
		padded := func(name string, x []F) {
			for r := 0; r < rows; r++ {
				for c := cols; c < stride && r*stride+c < size; c++ {
					if x[r*stride+c] != sentinel {
						t.Errorf("%s %v: padding overwritten", name, shape)
						return
					}
				}
			}
		}

		dst := slices.Clone(src)
		SparsemaxRows(dst, src, rows, cols, stride)
		padded("SparsemaxRows", dst)
		want := make([]F, cols)
		for r := 0; r < rows; r++ {
			Sparsemax(want, row(src, r))
			if !equalBits(row(dst, r), want) {
				t.Errorf("SparsemaxRows %v: row %d differs", shape, r)
			}
		}
		inPlace := slices.Clone(src)
		SparsemaxRows(inPlace, inPlace, rows, cols, stride)
		if !equalBits(inPlace, dst) {
			t.Errorf("SparsemaxRows %v: in place differs", shape)
		}

		back := slices.Clone(g)
		SparsemaxBackwardRows(back, dst, g, rows, cols, stride)
		padded("SparsemaxBackwardRows", back)
		for r := 0; r < rows; r++ {
			SparsemaxBackward(want, row(dst, r), row(g, r))
			if !equalBits(row(back, r), want) {
				t.Errorf("SparsemaxBackwardRows %v: row %d differs", shape, r)
			}
		}

		if cols == 0 {
			if l := SparsemaxLossDistRows(src, src, q, rows, cols, stride); rows > 0 && l == l ||
				rows == 0 && l != 0 {
				t.Errorf("SparsemaxLossDistRows %v: loss %g, want NaN for empty rows, 0 for none",
					shape, l)
			}
		}
		if cols > 0 {
			grad := slices.Clone(src)
			loss := SparsemaxLossRows(grad, src, targets, cols, stride)
			padded("SparsemaxLossRows", grad)
			var total float64
			for r, tg := range targets {
				total += float64(SparsemaxLoss(want, row(src, r), tg))
				if !equalBits(row(grad, r), want) {
					t.Errorf("SparsemaxLossRows %v: row %d gradient differs", shape, r)
				}
			}
			if loss != F(total) {
				t.Errorf("SparsemaxLossRows %v: loss %g, want %g", shape, loss, total)
			}
			if l := SparsemaxLossRows(nil, src, targets, cols, stride); l != loss {
				t.Errorf("SparsemaxLossRows %v: loss without gradient %g, with %g", shape, l,
					loss)
			}
			same := slices.Clone(src)
			if l := SparsemaxLossRows(same, same, targets, cols, stride); l != loss ||
				!equalBits(same, grad) {
				t.Errorf("SparsemaxLossRows %v: in place differs", shape)
			}

			gd := slices.Clone(src)
			dl := SparsemaxLossDistRows(gd, src, q, rows, cols, stride)
			padded("SparsemaxLossDistRows", gd)
			total = 0
			for r := 0; r < rows; r++ {
				total += float64(SparsemaxLossDist(want, row(src, r), row(q, r)))
				if !equalBits(row(gd, r), want) {
					t.Errorf("SparsemaxLossDistRows %v: row %d gradient differs", shape, r)
				}
			}
			if dl != F(total) {
				t.Errorf("SparsemaxLossDistRows %v: loss %g, want %g", shape, dl, total)
			}
		}
	}
}

// TestSparsemaxDense checks the mat.Dense forms against the vector forms,
// on a matrix and on a view into a wider one, and the empty matrix.
func TestSparsemaxDense(t *testing.T) {
	var empty mat.Dense
	SparsemaxDense(&empty, &empty)
	if l := SparsemaxLossDense(nil, &empty, nil); l != 0 {
		t.Errorf("SparsemaxLossDense of an empty matrix: %g, want 0", l)
	}
	rng := rand.New(rand.NewPCG(55, 56))
	wide := mat.NewDense(6, 12, randomLogits[float64](rng, 72, 0.5))
	for _, src := range []*mat.Dense{
		mat.NewDense(4, 9, randomLogits[float64](rng, 36, 0.5)),
		wide.Slice(1, 5, 2, 11).(*mat.Dense),
	} {
		r, c := src.Dims()
		dst := mat.NewDense(r, c, nil)
		SparsemaxDense(dst, src)
		want := make([]float64, c)
		for i := range r {
			Sparsemax(want, src.RawRowView(i))
			if !slices.Equal(dst.RawRowView(i), want) {
				t.Errorf("SparsemaxDense: row %d differs", i)
			}
		}
		same := mat.DenseCopyOf(src)
		SparsemaxDense(same, same)
		if !mat.Equal(same, dst) {
			t.Error("SparsemaxDense: in place differs")
		}

		targets := make([]int, r)
		for i := range targets {
			targets[i] = rng.IntN(c)
		}
		grad := mat.NewDense(r, c, nil)
		loss := SparsemaxLossDense(grad, src, targets)
		var total float64
		for i, tg := range targets {
			total += SparsemaxLoss(want, src.RawRowView(i), tg)
			if !slices.Equal(grad.RawRowView(i), want) {
				t.Errorf("SparsemaxLossDense: row %d gradient differs", i)
			}
		}
		if loss != total || SparsemaxLossDense(nil, src, targets) != loss {
			t.Errorf("SparsemaxLossDense: loss %g, want %g", loss, total)
		}
	}
}

func TestSparsemaxPanics(t *testing.T) {
	x3, x4 := make([]float32, 3), make([]float32, 4)
	assertPanics(t, "softmax.Sparsemax:", func() { Sparsemax(x3, x4) })
	assertPanics(t, "softmax.SparsemaxBackward:", func() { SparsemaxBackward(x3, x4, x4) })
	assertPanics(t, "softmax.SparsemaxBackward:", func() { SparsemaxBackward(x4, x4, x3) })
	assertPanics(t, "softmax.SparsemaxLoss:", func() { SparsemaxLoss(nil, x3, 3) })
	assertPanics(t, "softmax.SparsemaxLoss:", func() { SparsemaxLoss(nil, x3, -1) })
	assertPanics(t, "softmax.SparsemaxLoss:", func() { SparsemaxLoss(x4, x3, 0) })
	assertPanics(t, "softmax.SparsemaxLoss:", func() { SparsemaxLoss[float32](nil, nil, 0) })
	assertPanics(t, "softmax.SparsemaxLossDist:", func() { SparsemaxLossDist(nil, x3, x4) })
	assertPanics(t, "softmax.SparsemaxLossDist:", func() { SparsemaxLossDist(x4, x3, x3) })
	assertPanics(t, "softmax.SparsemaxRows:", func() { SparsemaxRows(x4, x4, 2, 3, 2) })
	assertPanics(t, "softmax.SparsemaxRows:", func() { SparsemaxRows(x3, x4, 2, 2, 2) })
	assertPanics(t, "softmax.SparsemaxBackwardRows:", func() {
		SparsemaxBackwardRows(x4, x4, x3, 2, 2, 2)
	})
	assertPanics(t, "softmax.SparsemaxLossRows:", func() {
		SparsemaxLossRows(nil, x4, []int{0, 2}, 2, 2)
	})
	assertPanics(t, "softmax.SparsemaxLossRows:", func() {
		SparsemaxLossRows(x3, x4, []int{0, 1}, 2, 2)
	})
	assertPanics(t, "softmax.SparsemaxLossDistRows:", func() {
		SparsemaxLossDistRows(nil, x4, x3, 2, 2, 2)
	})
	m := mat.NewDense(2, 2, nil)
	assertPanics(t, "softmax.SparsemaxDense:", func() { SparsemaxDense(mat.NewDense(2, 3, nil), m) })
	assertPanics(t, "softmax.SparsemaxLossDense:", func() { SparsemaxLossDense(nil, m, []int{0}) })
	assertPanics(t, "softmax.SparsemaxLossDense:", func() { SparsemaxLossDense(nil, m, []int{0, 2}) })
}

// TestSparsemaxZeroAllocations shows that no entry point allocates in
// steady state: out of place (the candidates go to dst), in place with few
// candidates (they stay on the stack) and with many (they go to a pooled
// buffer, once the pool holds one).
func TestSparsemaxZeroAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	x32 := randomLogits[float32](rng, 50000, 1)
	x64 := randomLogits[float64](rng, 50000, 1)
	flat := randomLogits[float32](rng, 50000, 1e-6) // support: most of it
	p32, g32, y32, y64 := make([]float32, 50000), make([]float32, 50000),
		make([]float32, 50000), make([]float64, 50000)
	Sparsemax(p32, x32)
	targets := make([]int, 10)
	dense := mat.NewDense(10, 5000, x64)
	denseOut := mat.NewDense(10, 5000, nil)
	for name, f := range map[string]func(){
		"Sparsemax":          func() { Sparsemax(y32, x32); Sparsemax(y64, x64) },
		"Sparsemax in place": func() { copy(y32, x32); Sparsemax(y32, y32) },
		"Sparsemax in place, wide support": func() {
			copy(y32, flat)
			Sparsemax(y32, y32)
		},
		"Sparsemax wide support":  func() { Sparsemax(y32, flat) },
		"SparsemaxBackward":       func() { SparsemaxBackward(g32, p32, x32) },
		"SparsemaxLoss":           func() { SparsemaxLoss(g32, x32, 5); SparsemaxLoss(nil, x64, 5) },
		"SparsemaxLoss nil, wide": func() { SparsemaxLoss(nil, flat, 5) },
		"SparsemaxLossDist":       func() { SparsemaxLossDist(g32, x32, p32) },
		"SparsemaxRows":           func() { SparsemaxRows(y32, x32, 10, 5000, 5000) },
		"SparsemaxRows in place": func() {
			copy(y32, flat)
			SparsemaxRows(y32, y32, 10, 5000, 5000)
		},
		"SparsemaxLossRows": func() { SparsemaxLossRows(g32, x32, targets, 5000, 5000) },
		"SparsemaxDense":    func() { SparsemaxDense(denseOut, dense) },
		"SparsemaxLossDense": func() {
			SparsemaxLossDense(denseOut, dense, targets)
		},
		"special values": func() {
			x32[7] = float32(math.NaN())
			Sparsemax(y32, x32)
			x32[7] = 0
		},
	} {
		f() // warm the pool
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, a)
		}
	}
}

// FuzzSparsemax decodes arbitrary bytes into a float32 and a float64 vector
// (see decodeFuzz: raw bit patterns, or small integers on a grid, which
// make ties) and checks Sparsemax against the sort-based definition in
// exact arithmetic, in and out of place, under every kernel; then the loss
// and its gradient.
func FuzzSparsemax(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte{2, 3, 3, 3, 0, 0, 0, 250})
	f.Add([]byte{4, 10, 5, 5, 5, 5, 0})
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte{1},
		math.Float64bits(1e8)), math.Float64bits(1e8-2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1024 {
			// The rational reference costs milliseconds on long inputs of
			// raw bits; short ones explore as well and minimize quickly.
			return
		}
		x32, x64 := decodeFuzz[float32](data), decodeFuzz[float64](data)
		for _, k := range supportedKernels() {
			func() {
				defer useKernel(k)()
				fuzzSparsemax(t, k.String(), x32)
				fuzzSparsemax(t, k.String(), x64)
			}()
		}
	})
}

func fuzzSparsemax[F Float](t *testing.T, kernel string, x []F) {
	y := sparsemaxCheck(t, kernel, x)
	if len(x) == 0 {
		return
	}
	target := len(x) / 2
	grad := make([]F, len(x))
	loss := SparsemaxLoss(grad, x, target)
	ref := exactSparsemax(x)
	if !ref.ok {
		if loss == loss {
			t.Errorf("%s: loss %g, want NaN", kernel, loss)
		}
		return
	}
	if !(loss >= 0) {
		t.Errorf("%s: loss %g, want >= 0", kernel, loss)
	}
	for i := range grad {
		w := y[i]
		if i == target {
			w--
		}
		if !sameBits(grad[i], w) {
			t.Errorf("%s: grad[%d] = %g, want %g", kernel, i, grad[i], w)
			break
		}
	}
}
