package softmax

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// forEachKernel runs f as a subtest for every kernel this CPU can run, once
// with the three-pass algorithm and once with the two-pass one (forced by
// lowering the size threshold to zero), so that every path of every kernel
// is tested in the same binary.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, k := range supportedKernels() {
		for _, twoPass := range []bool{false, true} {
			name := k.String() + "/three-pass"
			if twoPass {
				name = k.String() + "/two-pass"
			}
			t.Run(name, func(t *testing.T) {
				defer useKernel(k)()
				if twoPass {
					defer setTwoPassMinBytes(0)()
				} else {
					defer setTwoPassMinBytes(math.MaxInt)()
				}
				f(t)
			})
		}
	}
}

// kernelModes calls f for every kernel and algorithm, like forEachKernel,
// for callers that cannot start subtests (fuzz targets). f receives the
// mode's name for its messages.
func kernelModes(f func(mode string)) {
	for _, k := range supportedKernels() {
		for _, twoPass := range []bool{false, true} {
			func() {
				defer useKernel(k)()
				mode := k.String() + "/three-pass"
				if twoPass {
					mode = k.String() + "/two-pass"
					defer setTwoPassMinBytes(0)()
				} else {
					defer setTwoPassMinBytes(math.MaxInt)()
				}
				f(mode)
			}()
		}
	}
}

// tolerance is the accuracy contract: the relative error allowed for F.
func tolerance[F Float]() float64 {
	if is32[F]() {
		return 2e-6
	}
	return 1e-14
}

// smallestNormal is the smallest positive normal F.
func smallestNormal[F Float]() float64 {
	if is32[F]() {
		return 0x1p-126
	}
	return 0x1p-1022
}

// The reference computes in float64 with math.Exp and a compensated sum,
// which is far more accurate than the contract: within a few float64 ulp.
// For float32 inputs the conversion to float64 is exact.

// refNormalizer returns the maximum and the compensated sum of
// exp(x[i]-max), and whether x is free of special values.
func refNormalizer[F Float](x []F) (m, s float64, ok bool) {
	m = math.Inf(-1)
	hasNaN, hasPosInf := false, false
	for _, v := range x {
		f := float64(v)
		switch {
		case f != f:
			hasNaN = true
		case math.IsInf(f, 1):
			hasPosInf = true
		case f > m:
			m = f
		}
	}
	if hasNaN || hasPosInf || math.IsInf(m, -1) {
		return m, 0, false
	}
	var acc neumaier
	for _, v := range x {
		acc.add(math.Exp(float64(v) - m))
	}
	return m, acc.total(), true
}

func refSoftmax[F Float](x []F) []float64 {
	y := make([]float64, len(x))
	m, s, ok := refNormalizer(x)
	for i, v := range x {
		if !ok {
			y[i] = math.NaN()
			continue
		}
		y[i] = expDiff(float64(v), m) / s
	}
	return y
}

// expDiff returns exp(x-m) with the rounding error of the subtraction
// taken into account: for float64 inputs far below the maximum, x-m
// rounded to float64 is off by up to 6e-14 relative, more than the
// contract allows the library.
func expDiff(x, m float64) float64 {
	d := x - m
	if math.IsInf(d, 0) || d != d {
		return math.Exp(d)
	}
	// TwoSum: err is exactly (x-m) - d.
	mm := d - x
	xx := d - mm
	err := (x - xx) + (-m - mm)
	return math.Exp(d) * (1 + err)
}

func refLogSoftmax[F Float](x []F) []float64 {
	y := make([]float64, len(x))
	m, s, ok := refNormalizer(x)
	for i, v := range x {
		if !ok {
			y[i] = math.NaN()
			continue
		}
		y[i] = (float64(v) - m) - math.Log(s)
	}
	return y
}

func refLogSumExp[F Float](x []F) float64 {
	m, s, ok := refNormalizer(x)
	if ok {
		return m + math.Log(s)
	}
	hasNaN, hasPosInf := classify(x)
	switch {
	case hasNaN:
		return math.NaN()
	case hasPosInf:
		return math.Inf(1)
	}
	return math.Inf(-1)
}

// softmaxWithin reports whether got is an acceptable Softmax output for
// the exact value want: NaN for NaN; within the relative tolerance when
// want is normal in F; anywhere in [0, smallest normal] when it is not.
func softmaxWithin[F Float](got F, want float64) bool {
	g := float64(got)
	switch {
	case want != want:
		return g != g
	case want < smallestNormal[F]():
		return g >= 0 && g <= smallestNormal[F]()
	}
	return math.Abs(g-want) <= tolerance[F]()*want
}

// logWithin reports whether got is an acceptable LogSoftmax or LogSumExp
// output for the exact value want: equal for NaN and infinities, within
// tolerance·max(1, |want|) otherwise.
func logWithin[F Float](got F, want float64) bool {
	g := float64(got)
	switch {
	case want != want:
		return g != g
	case math.IsInf(want, 0):
		return g == want
	case is32[F]() && math.Abs(want) > math.MaxFloat32 &&
		math.IsInf(g, int(math.Copysign(1, want))):
		// The exact value is past the largest float32: it rounds to Inf,
		// or (within half an ulp of it) to the largest float32.
		return true
	}
	return math.Abs(g-want) <= tolerance[F]()*max(1, math.Abs(want))
}

// checkSoftmax fails t for every output of Softmax(x) = got outside the
// contract, reporting at most a few.
func checkSoftmax[F Float](t testing.TB, what string, got, x []F) {
	t.Helper()
	want := refSoftmax(x)
	bad := 0
	for i := range want {
		if !softmaxWithin(got[i], want[i]) {
			if bad++; bad <= 3 {
				t.Errorf("%s: n=%d: softmax[%d] = %g, want %g (x[i] = %g)",
					what, len(x), i, got[i], want[i], x[i])
			}
		}
	}
}

func checkLogSoftmax[F Float](t testing.TB, what string, got, x []F) {
	t.Helper()
	want := refLogSoftmax(x)
	bad := 0
	for i := range want {
		if !logWithin(got[i], want[i]) {
			if bad++; bad <= 3 {
				t.Errorf("%s: n=%d: logsoftmax[%d] = %g, want %g (x[i] = %g)",
					what, len(x), i, got[i], want[i], x[i])
			}
		}
	}
}

func checkLogSumExp[F Float](t testing.TB, what string, got F, x []F) {
	t.Helper()
	if want := refLogSumExp(x); !logWithin(got, want) {
		t.Errorf("%s: n=%d: logsumexp = %g, want %g", what, len(x), got, want)
	}
}

// randomLogits returns n values drawn from a normal distribution with
// standard deviation scale.
func randomLogits[F Float](rng *rand.Rand, n int, scale float64) []F {
	x := make([]F, n)
	for i := range x {
		x[i] = F(rng.NormFloat64() * scale)
	}
	return x
}

// assertPanics fails t unless f panics with a message containing want.
func assertPanics(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic; want one mentioning %q", want)
			return
		}
		msg, _ := r.(string)
		if !strings.Contains(msg, want) {
			t.Errorf("panic %q does not mention %q", msg, want)
		}
	}()
	f()
}

// specialPositions returns where a special-value test puts its value in a
// vector of length n: every position of a short vector, so that the value
// lands in every lane of the body and of the tail, and a few of a long one.
func specialPositions(n int) []int {
	if n > 33 {
		return []int{0, n / 3, n / 2, n - 1}
	}
	positions := make([]int, n)
	for i := range positions {
		positions[i] = i
	}
	return positions
}

// readCases decodes the JSON case file at path (under testdata/cases) into
// file, failing t if it cannot.
func readCases(t *testing.T, path string, file any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
