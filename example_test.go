package softmax_test

import (
	"fmt"
	"math"

	"github.com/gosoftmax/softmax"
	"gonum.org/v1/gonum/mat"
)

func ExampleSoftmax() {
	logits := []float32{2, 1, 0.1}
	probs := make([]float32, len(logits))
	softmax.Softmax(probs, logits)
	fmt.Printf("%.4f\n", probs)
	// Output: [0.6590 0.2424 0.0986]
}

func ExampleSoftmax_masked() {
	// A -Inf logit is a masked entry: it gets exactly 0 and the others
	// share the probability. Softmax may work in place.
	x := []float64{1, math.Inf(-1), 1}
	softmax.Softmax(x, x)
	fmt.Println(x)
	// Output: [0.5 0 0.5]
}

func ExampleLogSumExp() {
	// Finite inputs never overflow, however large.
	fmt.Printf("%.6f\n", softmax.LogSumExp([]float64{1000, 1000}))
	fmt.Println(softmax.LogSumExp([]float32{}))
	// Output:
	// 1000.693147
	// -Inf
}

func ExampleCrossEntropy() {
	logits := []float64{2, 1, 0.1}
	grad := make([]float64, len(logits))
	loss := softmax.CrossEntropy(grad, logits, 0)
	fmt.Printf("loss %.4f, gradient %.4f\n", loss, grad)
	// Output: loss 0.4170, gradient [-0.3410 0.2424 0.0986]
}

func ExampleSoftmaxRows() {
	// Two rows of three logits, stored with a stride of four.
	x := []float32{
		0, 0, 0, 99,
		1, 2, 3, 99,
	}
	softmax.SoftmaxRows(x, x, 2, 3, 4)
	fmt.Printf("%.3f\n", x)
	// Output: [0.333 0.333 0.333 99.000 0.090 0.245 0.665 99.000]
}

func ExampleSoftmaxDense() {
	m := mat.NewDense(2, 2, []float64{0, 0, 0, math.Log(3)})
	softmax.SoftmaxDense(m, m)
	fmt.Printf("%.2f\n", mat.Formatted(m))
	// Output:
	// ⎡0.50  0.50⎤
	// ⎣0.25  0.75⎦
}

func ExamplePartial() {
	// A vocabulary split across two shards, as in a tensor-parallel output
	// layer: each shard reports its Partial, any transport moves them, and
	// the merge gives each shard the exact softmax of the whole.
	shardA := []float64{1, 2}
	shardB := []float64{3, 4}
	whole := softmax.PartialOf(shardA).Merge(softmax.PartialOf(shardB))
	fmt.Printf("%.6f %.6f\n", whole.LogSumExp(), softmax.LogSumExp([]float64{1, 2, 3, 4}))

	probsB := make([]float64, len(shardB))
	whole.Softmax(probsB, shardB)
	fmt.Printf("%.4f\n", probsB)
	// Output:
	// 4.440190 4.440190
	// [0.2369 0.6439]
}

func ExampleKernel() {
	// Kernel reports the SIMD kernel chosen at start-up, for example
	// "avx512" on a recent x86-64 server or "neon" on arm64.
	fmt.Println(softmax.Kernel() != "")
	// Output: true
}

func ExampleSparsemax() {
	// Sparsemax gives exactly 0 below a threshold: the support here is the
	// two largest logits.
	logits := []float64{2.0, 1.6, 0.3, -1.0, 1.1}
	p := make([]float64, len(logits))
	threshold, support := softmax.Sparsemax(p, logits)
	fmt.Printf("%.2f threshold %.2f support %d\n", p, threshold, support)
	// Output: [0.70 0.30 0.00 0.00 0.00] threshold 1.30 support 2
}

func ExampleNewLogUniformSampler() {
	// A log-uniform (Zipfian) sampler over a vocabulary sorted by frequency,
	// and the expected count of a class in a sample of 64 distinct classes
	// that took 80 draws.
	s, err := softmax.NewLogUniformSampler(50000)
	if err != nil {
		panic(err)
	}
	p := s.Prob(0)
	fmt.Printf("P(0) = %.4f, expected count %.4f\n", p, softmax.ExpectedCount(p, 80, true))
	// Output: P(0) = 0.0641, expected count 0.9950
}
