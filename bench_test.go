package softmax

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The benchmarks are named <type>/<kernel>/<n>, so benchstat can compare
// kernels at one size (-col /kernel) or sizes for one kernel. The kernel
// "naive" is the textbook loop below, kept here as the baseline; the others
// are the library's kernels that this CPU can run.

var benchSizes = []int{1000, 4096, 32000, 128256, 1048576, 16777216}

// benchInputs caches one input vector per type and size: the largest are
// hundreds of megabytes, and every kernel should see the same data.
var benchInputs = map[string]any{}

// benchInput returns n logits drawn uniformly from [-10, 10), the range the
// roofline program in ../shared/roofline uses.
func benchInput[F Float](n int) []F {
	key := fmt.Sprintf("%T/%d", F(0), n)
	if x, ok := benchInputs[key]; ok {
		return x.([]F)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	x := make([]F, n)
	for i := range x {
		x[i] = F(rng.Float64()*20 - 10)
	}
	benchInputs[key] = x
	return x
}

// benchKernel is one implementation of an operation under benchmark: run
// computes on x, writing y where the operation writes.
type benchKernel[F Float] struct {
	name string
	run  func(y, x []F)
}

func benchOperation[F Float](b *testing.B, naive, library func(y, x []F)) {
	kernels := []benchKernel[F]{{"naive", naive}}
	for _, k := range supportedKernels() {
		k := k
		kernels = append(kernels, benchKernel[F]{k.String(), func(y, x []F) {
			defer useKernel(k)()
			library(y, x)
		}})
	}
	slices.SortStableFunc(kernels, func(a, b benchKernel[F]) int {
		return kernelOrder(a.name) - kernelOrder(b.name)
	})

	for _, k := range kernels {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%T/%s/%d", F(0), k.name, n), func(b *testing.B) {
				x := benchInput[F](n)
				y := make([]F, n)
				b.SetBytes(int64(n * sizeOf[F]()))
				b.ReportAllocs()
				for b.Loop() {
					k.run(y, x)
				}
			})
		}
	}
}

// kernelOrder lists the baseline first, then the kernels from slowest to
// fastest.
func kernelOrder(name string) int {
	return slices.Index([]string{"naive", "generic", "neon", "avx2", "avx512"}, name)
}

var benchSink float64

func BenchmarkSoftmax(b *testing.B) {
	benchOperation(b, naiveSoftmax[float32], Softmax[float32])
	benchOperation(b, naiveSoftmax[float64], Softmax[float64])
}

func BenchmarkLogSoftmax(b *testing.B) {
	benchOperation(b, naiveLogSoftmax[float32], LogSoftmax[float32])
	benchOperation(b, naiveLogSoftmax[float64], LogSoftmax[float64])
}

func BenchmarkLogSumExp(b *testing.B) {
	benchOperation(b,
		func(_, x []float32) { benchSink = float64(naiveLogSumExp(x)) },
		func(_, x []float32) { benchSink = float64(LogSumExp(x)) })
	benchOperation(b,
		func(_, x []float64) { benchSink = naiveLogSumExp(x) },
		func(_, x []float64) { benchSink = LogSumExp(x) })
}

func BenchmarkCrossEntropy(b *testing.B) {
	benchOperation(b,
		func(g, x []float32) { benchSink = float64(naiveCrossEntropy(g, x, len(x)/3)) },
		func(g, x []float32) { benchSink = float64(CrossEntropy(g, x, len(x)/3)) })
	benchOperation(b,
		func(g, x []float64) { benchSink = naiveCrossEntropy(g, x, len(x)/3) },
		func(g, x []float64) { benchSink = CrossEntropy(g, x, len(x)/3) })
}

// naiveSoftmax is the textbook softmax: the maximum, math.Exp of each
// shifted element summed in the element type, a division per element.
func naiveSoftmax[F Float](y, x []F) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum F
	for i, v := range x {
		y[i] = F(math.Exp(float64(v - m)))
		sum += y[i]
	}
	for i := range y {
		y[i] /= sum
	}
}

func naiveLogSumExp[F Float](x []F) F {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum F
	for _, v := range x {
		sum += F(math.Exp(float64(v - m)))
	}
	return m + F(math.Log(float64(sum)))
}

func naiveLogSoftmax[F Float](y, x []F) {
	lse := naiveLogSumExp(x)
	for i, v := range x {
		y[i] = v - lse
	}
}

func naiveCrossEntropy[F Float](grad, x []F, target int) F {
	naiveSoftmax(grad, x)
	loss := -F(math.Log(float64(grad[target])))
	grad[target]--
	return loss
}
