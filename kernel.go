package softmax

import (
	"math"
	"os"
)

// kernelID names one implementation of the hot loops. Every build has the
// generic kernel; the others exist only where their assembly is built.
type kernelID uint8

const (
	kernelGeneric kernelID = iota
	kernelAVX2
	kernelAVX512
	kernelNEON
)

var kernelNames = [...]string{
	kernelGeneric: "generic",
	kernelAVX2:    "avx2",
	kernelAVX512:  "avx512",
	kernelNEON:    "neon",
}

func (k kernelID) String() string { return kernelNames[k] }

// KernelEnv is the environment variable that forces a kernel at start-up,
// for reproducing a bug or benchmarking one kernel against another. Its
// value is a name that Kernel reports ("generic", "avx2", "avx512",
// "neon"). A kernel the CPU cannot run, or an unknown name, is ignored:
// the library then keeps the best kernel the CPU has, and Kernel reports
// which one that is.
const KernelEnv = "GOSOFTMAX_KERNEL"

// activeKernel is the kernel that the dispatch functions call. It is set
// once at init; tests change it only through useKernel.
var activeKernel kernelID

// twoPassMinBytes holds, per kernel, the working-set size in bytes from
// which the kernel switches from three passes over the data to two. Below
// it the data stays in the L2 cache between passes and the three-pass
// method does the least arithmetic; above it the data comes from memory on
// each pass, and reading it once less wins. Each architecture's init sets
// the entries of its SIMD kernels from the measured cache size. The generic
// kernel is bound by arithmetic, not by memory, so it always uses three
// passes.
var twoPassMinBytes = [len(kernelNames)]int{
	kernelGeneric: math.MaxInt,
	kernelAVX2:    math.MaxInt,
	kernelAVX512:  math.MaxInt,
	kernelNEON:    math.MaxInt,
}

func init() {
	supported := supportedKernels()
	activeKernel = supported[0]
	if name := os.Getenv(KernelEnv); name != "" {
		for _, k := range supported {
			if k.String() == name {
				activeKernel = k
			}
		}
	}
}

// Kernel reports which kernel the library selected at start-up: "avx512",
// "avx2", "neon" or "generic".
func Kernel() string { return activeKernel.String() }

// useTwoPass reports whether a computation whose data spans workingSet
// bytes should take two passes instead of three.
func useTwoPass(workingSet int) bool {
	return workingSet >= twoPassMinBytes[activeKernel]
}

// useKernel makes k the active kernel and returns a function that restores
// the previous one. It is for tests and benchmarks, which must not run in
// parallel with each other while they use it.
func useKernel(k kernelID) (restore func()) {
	prev := activeKernel
	activeKernel = k
	return func() { activeKernel = prev }
}

// setTwoPassMinBytes sets the two-pass threshold of every kernel to n and
// returns a function that restores the previous thresholds. Tests use it
// to run both algorithms on small inputs.
func setTwoPassMinBytes(n int) (restore func()) {
	prev := twoPassMinBytes
	for k := range twoPassMinBytes {
		twoPassMinBytes[k] = n
	}
	return func() { twoPassMinBytes = prev }
}
