//go:build gc && !purego

package softmax

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestNEONSelected fails when the CPU reports ASIMD and init did not choose
// the NEON kernel (unless GOSOFTMAX_KERNEL forced another one), and when a
// CPU without ASIMD was offered the NEON kernel at all.
func TestNEONSelected(t *testing.T) {
	if !cpu.ARM64.HasASIMD {
		if slices.Contains(supportedKernels(), kernelNEON) {
			t.Fatalf("the CPU has no ASIMD, yet supportedKernels offers neon: %v",
				supportedKernels())
		}
		if activeKernel != kernelGeneric {
			t.Fatalf("the CPU has no ASIMD, yet %v was selected", activeKernel)
		}
		return
	}
	if best := supportedKernels()[0]; best != kernelNEON {
		t.Fatalf("the CPU has ASIMD, but the best kernel offered is %v", best)
	}
	forced := os.Getenv(KernelEnv)
	if forced == "" || forced == "neon" {
		if got := Kernel(); got != "neon" {
			t.Fatalf("the CPU has ASIMD, but Kernel() = %q", got)
		}
	} else if got := Kernel(); got != forced {
		t.Fatalf("%s=%s, but Kernel() = %q", KernelEnv, forced, got)
	}
	if got := twoPassMinBytes[kernelNEON]; got != neonTwoPassMinBytes {
		t.Errorf("twoPassMinBytes[neon] = %d, want %d", got, neonTwoPassMinBytes)
	}
}

// TestNEONExpULP measures the NEON exponentials against the exact value,
// over the whole range from the shift down to past the flush threshold,
// for shifts that take each path of the decomposition (a = 0 with small
// and large j, and a = m for huge shifts). Normal outputs must be within 2
// units in the last place for float32 (the kernel reaches about 1.1) and
// within 3 for float64, whose reference, math.Exp, is itself off by up to
// 1; outputs below the smallest normal number must lie in [0, smallest
// normal].
func TestNEONExpULP(t *testing.T) {
	defer useKernel(kernelNEON)()
	shifts := []float64{0, 1.5, -3.7, 100.25, 12345.678, 30000, 40000, -1e5, -3e7}
	const n = 1 << 15
	for _, m := range shifts {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(m - 104*float64(i)/n)
		}
		checkNEONExpULP(t, x, float32(m), 2)

		x64 := make([]float64, n)
		for i := range x64 {
			// The small term keeps x-m from being a multiple of a
			// power of two.
			x64[i] = m - 746*float64(i)/n + 1e-9*float64(i%7)
		}
		checkNEONExpULP(t, x64, m, 3)
	}
}

func checkNEONExpULP[F Float](t *testing.T, x []F, m F, maxULP float64) {
	t.Helper()
	y := make([]F, len(x))
	z := make([]F, len(x))
	if is32[F]() {
		storeExp32(as32(y), as32(x), newExpShift(float32(m)))
		storeExpScaled32(as32(z), as32(x), newExpShift(float32(m)), 1)
	} else {
		storeExp64(as64(y), as64(x), newExpShift(float64(m)))
		storeExpScaled64(as64(z), as64(x), newExpShift(float64(m)), 1)
	}
	worst, bad := 0.0, 0
	for i := range x {
		if y[i] != z[i] {
			t.Fatalf("m=%g: exp(%g) is %g from storeExp but %g from storeExpScaled with c=1",
				m, x[i], y[i], z[i])
		}
		want := expDiff(float64(x[i]), float64(m))
		got := float64(y[i])
		if want < smallestNormal[F]() {
			if !(got >= 0 && got <= smallestNormal[F]()) {
				if bad++; bad <= 3 {
					t.Errorf("m=%g: exp(%g - m) = %g, want within [0, %g]",
						m, x[i], got, smallestNormal[F]())
				}
			}
			continue
		}
		ulp := float64(neonNextUp(F(want)) - F(want))
		worst = max(worst, math.Abs(got-want)/ulp)
	}
	if worst > maxULP {
		t.Errorf("m=%g: %T exp is off by %.2f ulp, want at most %g", m, m, worst, maxULP)
	}
}

func neonNextUp[F Float](v F) F {
	if is32[F]() {
		return F(math.Nextafter32(float32(v), float32(math.Inf(1))))
	}
	return F(math.Nextafter(float64(v), math.Inf(1)))
}

// TestNEONKernelAllocations shows that the NEON dispatch, whose tail
// buffers live on the stack, allocates nothing, at a length with a tail.
func TestNEONKernelAllocations(t *testing.T) {
	defer useKernel(kernelNEON)()
	for _, n := range []int{5, 1003} {
		x32, y32 := randomLogits[float32](rand.New(rand.NewPCG(5, 6)), n, 3), make([]float32, n)
		x64, y64 := randomLogits[float64](rand.New(rand.NewPCG(5, 6)), n, 3), make([]float64, n)
		if a := testing.AllocsPerRun(10, func() {
			runKernelOps(y32, x32, false)
			runKernelOps(y64, x64, false)
		}); a != 0 {
			t.Errorf("n=%d: %v allocations per run of every kernel operation, want 0", n, a)
		}
	}
}

// TestNEONRandomInputs runs the fuzz target's check on a few thousand
// generated inputs, so that the mix of lengths, offsets and special values
// it covers is exercised on every run, under qemu too, where the fuzzing
// engine cannot start its workers.
func TestNEONRandomInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	rounds := 3000
	if testing.Short() {
		rounds = 600
	}
	specials := []float64{math.Inf(-1), math.Inf(1), math.NaN(), -87.5, -103, -708.5, -745,
		1e30, -1e30, 3e38, -3e38, 1e300, 0x1p-140, 0}
	for round := range rounds {
		n := rng.IntN(200)
		spread := []float64{0.01, 1, 30, 300, 1e5}[rng.IntN(5)]
		x32, x64 := make([]float32, n), make([]float64, n)
		for i := range n {
			v := rng.NormFloat64() * spread
			if rng.IntN(25) == 0 {
				v = specials[rng.IntN(len(specials))]
			}
			x32[i], x64[i] = float32(v), v
		}
		offset := rng.IntN(8)
		checkNEONMatchesGeneric(t, x32, offset)
		checkNEONMatchesGeneric(t, x64, offset)
		if t.Failed() {
			t.Fatalf("round %d, offset %d, x = %v", round, offset, x64)
		}
	}
}

// FuzzNEONKernels compares every NEON kernel operation with the generic
// kernel on arbitrary input. mode's bit 0 selects float64; bit 1 reads raw
// IEEE bits (every magnitude, NaN and Inf), otherwise 16-bit integers
// scaled by 1/64 (ordinary logits); bits 2-4 offset the start from the
// allocation, to vary the alignment.
func FuzzNEONKernels(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{1, 0}, uint8(0))
	f.Add([]byte{1, 0, 2, 0, 3, 0, 0, 128, 4, 0}, uint8(5))
	for _, x := range [][]float64{
		{0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16},
		{math.Inf(-1), math.Inf(-1), 0, math.Inf(-1)},
		{math.Inf(-1), math.Inf(-1), math.Inf(-1)},
		{1, 2, math.NaN(), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
		{1, 2, 3, math.Inf(1)},
		{0, -87.3, -87.4, -87.5, -88, -103.3, -103.4, -104},
		{0, -708.3, -708.4, -708.5, -709, -744, -745.2, -746},
		{3e38, -3e38, 0, 1},
		{40000, 39950, 39990.5, 39913},
		{-1e300, 1e300, 0},
	} {
		f.Add(neonRawBits32(x), uint8(2))
		f.Add(neonRawBits64(x), uint8(3|3<<2))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		offset := int(mode>>2) & 7
		raw := mode&2 != 0
		if mode&1 == 0 {
			checkNEONMatchesGeneric(t, neonDecodeFloats[float32](data, raw), offset)
		} else {
			checkNEONMatchesGeneric(t, neonDecodeFloats[float64](data, raw), offset)
		}
	})
}

func neonRawBits32(x []float64) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
	}
	return b
}

func neonRawBits64(x []float64) []byte {
	b := make([]byte, 0, 8*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// neonDecodeFloats reads data as raw little-endian IEEE values of F, or as
// 16-bit integers divided by 64.
func neonDecodeFloats[F Float](data []byte, raw bool) []F {
	var x []F
	switch {
	case !raw:
		for ; len(data) >= 2; data = data[2:] {
			x = append(x, F(int16(binary.LittleEndian.Uint16(data)))/64)
		}
	case is32[F]():
		for ; len(data) >= 4; data = data[4:] {
			x = append(x, F(math.Float32frombits(binary.LittleEndian.Uint32(data))))
		}
	default:
		for ; len(data) >= 8; data = data[8:] {
			x = append(x, F(math.Float64frombits(binary.LittleEndian.Uint64(data))))
		}
	}
	return x
}

// checkNEONMatchesGeneric checks the NEON kernel operations on x, placed
// offset elements into a fresh allocation. Without NaN or +Inf every
// operation must agree with the generic kernel (compareKernelResults), and
// storeExp and storeExpScaled must give the same in place as out of place.
// With NaN or +Inf, where the contract leaves the maximum free, the one-pass
// sum must be NaN, and with NaN the exps must carry it: NaN at NaN inputs,
// a NaN sum, the other outputs as the generic kernel's.
func checkNEONMatchesGeneric[F Float](t *testing.T, in []F, offset int) {
	t.Helper()
	buf := make([]F, offset+len(in))
	x := buf[offset:]
	copy(x, in)
	dst := make([]F, len(x))

	hasNaN, hasPosInf := classify(x)
	if hasNaN || hasPosInf {
		checkNEONSpecial(t, dst, x, hasNaN)
		return
	}

	want := runKernelOps(dst, x, true)
	restore := useKernel(kernelNEON)
	got := runKernelOps(dst, x, true)
	restore()
	compareKernelResults(t, fmt.Sprintf("n=%d offset=%d", len(x), offset), got, want)
	if len(x) == 0 || t.Failed() {
		return
	}

	defer useKernel(kernelNEON)()
	m := max(maxOf(x), lowest[F]())
	inPlace := append([]F(nil), x...)
	if is32[F]() {
		s := newExpShift(float32(m))
		storeExp32(as32(dst), as32(x), s)
		storeExp32(as32(inPlace), as32(inPlace), s)
	} else {
		s := newExpShift(float64(m))
		storeExp64(as64(dst), as64(x), s)
		storeExp64(as64(inPlace), as64(inPlace), s)
	}
	if !slices.EqualFunc(dst, inPlace, neonSameFloat[F]) {
		t.Errorf("n=%d: storeExp in place differs from out of place", len(x))
	}
	copy(inPlace, x)
	if is32[F]() {
		s := newExpShift(float32(m))
		storeExpScaled32(as32(dst), as32(x), s, 0.25)
		storeExpScaled32(as32(inPlace), as32(inPlace), s, 0.25)
	} else {
		s := newExpShift(float64(m))
		storeExpScaled64(as64(dst), as64(x), s, 0.25)
		storeExpScaled64(as64(inPlace), as64(inPlace), s, 0.25)
	}
	if !slices.EqualFunc(dst, inPlace, neonSameFloat[F]) {
		t.Errorf("n=%d: storeExpScaled in place differs from out of place", len(x))
	}
}

// neonSameFloat reports whether a and b are equal or both NaN.
func neonSameFloat[F Float](a, b F) bool { return a == b || (a != a && b != b) }

func checkNEONSpecial[F Float](t *testing.T, dst, x []F, hasNaN bool) {
	t.Helper()
	defer useKernel(kernelNEON)()
	if _, s := maxSumExp(x); s == s {
		t.Errorf("n=%d with NaN or +Inf: maxSumExp sum %g, want NaN", len(x), s)
	}
	if !hasNaN {
		return
	}

	// The shift: the largest finite element, as a caller would find it.
	m := lowest[F]()
	for _, v := range x {
		if isFinite(v) {
			m = max(m, v)
		}
	}
	if s := sumExp(x, m); s == s {
		t.Errorf("n=%d with NaN: sumExp %g, want NaN", len(x), s)
	}
	s := storeExp(dst, x, m)
	if s == s {
		t.Errorf("n=%d with NaN: storeExp sum %g, want NaN", len(x), s)
	}
	generic := make([]F, len(x))
	func() {
		defer useKernel(kernelGeneric)()
		storeExp(generic, x, m)
	}()
	for i, v := range x {
		switch {
		case v != v:
			if dst[i] == dst[i] {
				t.Errorf("n=%d: exp(NaN) at %d = %g", len(x), i, dst[i])
			}
		case isFinite(v) || math.IsInf(float64(v), -1):
			if !closeRel[F](float64(dst[i]), float64(generic[i])) {
				t.Errorf("n=%d with NaN: exp(x[%d] = %g) = %g, generic %g",
					len(x), i, v, dst[i], generic[i])
			}
		}
	}
}
