//go:build gc && !purego

package softmax

import (
	"math"

	"golang.org/x/sys/cpu"
)

// This file is the arm64 dispatch layer: each kernel operation calls the
// NEON (ASIMD) assembly in simd_arm64.s when the NEON kernel is active,
// and its pure-Go kernel otherwise.
//
// The exp kernels in assembly take whole blocks of four vectors (16
// float32, 8 float64). The Go side hands them the rest of x, fewer than a
// block, in a buffer on its stack padded with -Inf (which gives exactly 0
// and never raises a maximum), and copies the results back, so the
// assembly never touches memory outside the slices it is given.

const (
	neonBlock32 = 16
	neonBlock64 = 8
)

// neonTwoPassMinBytes is the working set from which the NEON kernel takes
// two passes over the data instead of three: 1 MiB, the per-core L2 cache
// of the common arm64 server cores (Neoverse N1, N2 and V1, in AWS
// Graviton2 and 3 and Ampere Altra). Neither the Linux auxiliary vector
// nor golang.org/x/sys/cpu reports cache sizes on arm64, and the kernels
// have only been run under qemu, where a cache cannot be measured.
// The right value may differ per operation: the two-pass LogSumExp does
// the same arithmetic as the three-pass one with one read of x less, but
// the two-pass Softmax computes each exponential twice, which on a core
// whose exp throughput is below its memory bandwidth can cost more than
// the read it saves.
// TODO: measure the crossover on arm64 hardware (BenchmarkSoftmax and
// BenchmarkLogSumExp around the L2 size, with setTwoPassMinBytes forcing
// each algorithm), and read the L2 size from
// /sys/devices/system/cpu/cpu0/cache where Linux exposes it.
const neonTwoPassMinBytes = 1 << 20

// hasASIMD reports whether the CPU has ASIMD. Every arm64 CPU that Go runs
// on has it in practice, but the kernel is only selected when the
// hardware capabilities say so.
var hasASIMD = cpu.ARM64.HasASIMD

func init() {
	twoPassMinBytes[kernelNEON] = neonTwoPassMinBytes

	// The NEON sum kernels keep 16 float32 (8 float64) lanes and do not
	// fold them into float64 as they go, so the drivers hand them blocks
	// of 16 terms per lane: see sumRun.
	// TODO: fold the lanes into float64 every sumRun iterations inside the
	// assembly, as the amd64 kernels do, and drop these smaller blocks,
	// which cost one call per 256 (float32) or 128 (float64) elements.
	sumBlocks[kernelNEON].f32 = 16 * sumRun
	sumBlocks[kernelNEON].f64 = 8 * sumRun
}

func supportedKernels() []kernelID {
	if hasASIMD {
		return []kernelID{kernelNEON, kernelGeneric}
	}
	return []kernelID{kernelGeneric}
}

// The magic constants of the exp kernels: 1.5*2^p plus the exponent bias
// less j, so that t = magic + (x-a-mu)*log2(e), rounded to an integer,
// holds the biased exponent of 2^(k-j) in its low bits.
func neonMagic32(j float32) float32 { return 0x1.8p23 + 127 - j }
func neonMagic64(j float64) float64 { return 0x1.8p52 + 1023 - j }

// neonTail32 copies x, shorter than a block, into buf, fills the rest of
// buf with -Inf and returns buf; for an empty x it returns nil.
func neonTail32(buf *[neonBlock32]float32, x []float32) *[neonBlock32]float32 {
	if len(x) == 0 {
		return nil
	}
	n := copy(buf[:], x)
	for i := n; i < len(buf); i++ {
		buf[i] = float32(math.Inf(-1))
	}
	return buf
}

// neonTail64 is neonTail32 for float64.
func neonTail64(buf *[neonBlock64]float64, x []float64) *[neonBlock64]float64 {
	if len(x) == 0 {
		return nil
	}
	n := copy(buf[:], x)
	for i := n; i < len(buf); i++ {
		buf[i] = math.Inf(-1)
	}
	return buf
}

func maxOf32(x []float32) float32 {
	switch activeKernel {
	case kernelNEON:
		_ = x[0] // an empty x panics here, as in the generic kernel
		return maxOfNEON32(x)
	}
	return maxOfGeneric(x)
}

func maxOf64(x []float64) float64 {
	switch activeKernel {
	case kernelNEON:
		_ = x[0] // an empty x panics here, as in the generic kernel
		return maxOfNEON64(x)
	}
	return maxOfGeneric(x)
}

func sumExp32(x []float32, shift float32) float64 {
	switch activeKernel {
	case kernelNEON:
		n := len(x) &^ (neonBlock32 - 1)
		var buf [neonBlock32]float32
		return sumExpNEON32(x[:n], neonTail32(&buf, x[n:]), shift)
	}
	return sumExp32Generic(x, shift)
}

func sumExp64(x []float64, shift float64) float64 {
	switch activeKernel {
	case kernelNEON:
		n := len(x) &^ (neonBlock64 - 1)
		var buf [neonBlock64]float64
		return sumExpNEON64(x[:n], neonTail64(&buf, x[n:]), shift)
	}
	return sumExp64Generic(x, shift)
}

func storeExp32(dst, x []float32, s expShift[float32]) float64 {
	switch activeKernel {
	case kernelNEON:
		dst = dst[:len(x)]
		n := len(x) &^ (neonBlock32 - 1)
		var buf [neonBlock32]float32
		tail := neonTail32(&buf, x[n:])
		sum := storeExpNEON32(dst[:n], x[:n], tail, s.a, s.mu, neonMagic32(s.j))
		copy(dst[n:], buf[:])
		return sum
	}
	return storeExp32Generic(dst, x, s)
}

func storeExp64(dst, x []float64, s expShift[float64]) float64 {
	switch activeKernel {
	case kernelNEON:
		dst = dst[:len(x)]
		n := len(x) &^ (neonBlock64 - 1)
		var buf [neonBlock64]float64
		tail := neonTail64(&buf, x[n:])
		sum := storeExpNEON64(dst[:n], x[:n], tail, s.a, s.mu, neonMagic64(s.j))
		copy(dst[n:], buf[:])
		return sum
	}
	return storeExp64Generic(dst, x, s)
}

func scale32(x []float32, c float32) {
	switch activeKernel {
	case kernelNEON:
		scaleNEON32(x, c)
		return
	}
	scaleGeneric(x, c)
}

func scale64(x []float64, c float64) {
	switch activeKernel {
	case kernelNEON:
		scaleNEON64(x, c)
		return
	}
	scaleGeneric(x, c)
}

func storeExpScaled32(dst, x []float32, s expShift[float32], c float32) {
	switch activeKernel {
	case kernelNEON:
		dst = dst[:len(x)]
		n := len(x) &^ (neonBlock32 - 1)
		var buf [neonBlock32]float32
		tail := neonTail32(&buf, x[n:])
		storeExpScaledNEON32(dst[:n], x[:n], tail, s.a, s.mu, neonMagic32(s.j), c)
		copy(dst[n:], buf[:])
		return
	}
	storeExpScaled32Generic(dst, x, s, c)
}

func storeExpScaled64(dst, x []float64, s expShift[float64], c float64) {
	switch activeKernel {
	case kernelNEON:
		dst = dst[:len(x)]
		n := len(x) &^ (neonBlock64 - 1)
		var buf [neonBlock64]float64
		tail := neonTail64(&buf, x[n:])
		storeExpScaledNEON64(dst[:n], x[:n], tail, s.a, s.mu, neonMagic64(s.j), c)
		copy(dst[n:], buf[:])
		return
	}
	storeExpScaled64Generic(dst, x, s, c)
}

func storeLogSoftmax32(dst, x []float32, shift, logSum float32) {
	switch activeKernel {
	case kernelNEON:
		storeLogSoftmaxNEON32(dst[:len(x)], x, shift, logSum)
		return
	}
	storeLogSoftmaxGeneric(dst, x, shift, logSum)
}

func storeLogSoftmax64(dst, x []float64, shift, logSum float64) {
	switch activeKernel {
	case kernelNEON:
		storeLogSoftmaxNEON64(dst[:len(x)], x, shift, logSum)
		return
	}
	storeLogSoftmaxGeneric(dst, x, shift, logSum)
}

func maxSumExp32(x []float32) (float32, float64) {
	switch activeKernel {
	case kernelNEON:
		n := len(x) &^ (neonBlock32 - 1)
		var buf [neonBlock32]float32
		return maxSumExpNEON32(x[:n], neonTail32(&buf, x[n:]))
	}
	return maxSumExp32Generic(x)
}

func maxSumExp64(x []float64) (float64, float64) {
	switch activeKernel {
	case kernelNEON:
		n := len(x) &^ (neonBlock64 - 1)
		var buf [neonBlock64]float64
		return maxSumExpNEON64(x[:n], neonTail64(&buf, x[n:]))
	}
	return maxSumExp64Generic(x)
}

// The assembly kernels. Each stands for the Go loop in its comment; the
// exp kernels take len(x) a multiple of the block (16 float32, 8 float64)
// and a tail block padded with -Inf, or nil, which they compute in place.
// dst has the length of x.

// maxOfNEON32 returns max(x[i]); x is not empty.
//
//go:noescape
func maxOfNEON32(x []float32) float32

//go:noescape
func maxOfNEON64(x []float64) float64

// scaleNEON32 does x[i] *= c.
//
//go:noescape
func scaleNEON32(x []float32, c float32)

//go:noescape
func scaleNEON64(x []float64, c float64)

// storeLogSoftmaxNEON32 does dst[i] = (x[i] - shift) - logSum.
//
//go:noescape
func storeLogSoftmaxNEON32(dst, x []float32, shift, logSum float32)

//go:noescape
func storeLogSoftmaxNEON64(dst, x []float64, shift, logSum float64)

// sumExpNEON32 returns the sum of exp(x[i] - shift) over x and the tail.
//
//go:noescape
func sumExpNEON32(x []float32, tail *[neonBlock32]float32, shift float32) float64

//go:noescape
func sumExpNEON64(x []float64, tail *[neonBlock64]float64, shift float64) float64

// storeExpNEON32 does dst[i] = exp(x[i] - m), where m = a + mu + j*ln2 and
// magic = neonMagic32(j), over x and in place over the tail, and returns the
// sum of what it stored.
//
//go:noescape
func storeExpNEON32(dst, x []float32, tail *[neonBlock32]float32, a, mu, magic float32) float64

//go:noescape
func storeExpNEON64(dst, x []float64, tail *[neonBlock64]float64, a, mu, magic float64) float64

// storeExpScaledNEON32 does dst[i] = exp(x[i] - m) * c, m as in
// storeExpNEON32.
//
//go:noescape
func storeExpScaledNEON32(dst, x []float32, tail *[neonBlock32]float32, a, mu, magic, c float32)

//go:noescape
func storeExpScaledNEON64(dst, x []float64, tail *[neonBlock64]float64, a, mu, magic, c float64)

// maxSumExpNEON32 returns m = max(max(x[i]), lowest) and the sum of
// exp(x[i] - m), over x and the tail, reading x once.
//
//go:noescape
func maxSumExpNEON32(x []float32, tail *[neonBlock32]float32) (m float32, sum float64)

//go:noescape
func maxSumExpNEON64(x []float64, tail *[neonBlock64]float64) (m float64, sum float64)
