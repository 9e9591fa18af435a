package softmax

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// BenchmarkHierarchicalSoftmax compares the hierarchical softmax with the
// full output layer it replaces, over n classes and hidden vectors of
// length 128. The benchmarks are named <type>/<op>/<n>, so that each
// hierarchical op sits next to its full-softmax counterpart:
//
//   - full: one class's log-probability from the whole output layer, a
//     gonum Gemv for the n logits and LogSoftmax;
//   - path: the same from the tree, LogProb;
//   - full-top5: Gemv, LogSoftmax and a scan for the 5 best classes;
//   - top5: TopK with k = 5;
//   - full-step: one training step on one (hidden, class) pair with the
//     full layer: Gemv, CrossEntropy with its gradient, a transposed Gemv
//     for the gradient of the hidden vector and a Ger for the weights;
//   - step: the same with Step.
//
// The tree is the Huffman tree of Zipf-distributed counts (a vocabulary),
// and the classes asked for are drawn uniformly, so that paths are of all
// lengths, not only the short paths of frequent words. The weights are
// random with node scores of standard deviation 4, as a trained model's
// confident decisions are; the full layer uses the same weights plus one
// row.
func BenchmarkHierarchicalSoftmax(b *testing.B) {
	b.Run("float32", hsBenchmark[float32])
	b.Run("float64", hsBenchmark[float64])
}

const (
	hsBenchDim     = 128
	hsBenchScale   = 4
	hsBenchInputs  = 16   // distinct hidden vectors, used in turn
	hsBenchClasses = 4096 // distinct classes asked for, used in turn
)

var hsBenchSizes = []int{10000, 100000}

// hsBench is the data one type and size are benchmarked on.
type hsBench[F Float] struct {
	model   *Hierarchical[F]
	full    []F // n rows of dim: the tree's rows and one more
	hidden  [][]F
	classes []int
	logits  []F
	dh      []F
}

func newHSBench[F Float](n int) *hsBench[F] {
	rng := rand.New(rand.NewPCG(uint64(n), 128))
	tr, err := NewHuffmanTree(hsZipfCounts(n))
	if err != nil {
		panic(err)
	}
	bench := &hsBench[F]{
		full:   randomLogits[F](rng, n*hsBenchDim, hsBenchScale/math.Sqrt(hsBenchDim)),
		logits: make([]F, n),
		dh:     make([]F, hsBenchDim),
	}
	bench.model, err = NewHierarchical(tr, hsBenchDim, bench.full[:(n-1)*hsBenchDim])
	if err != nil {
		panic(err)
	}
	for range hsBenchInputs {
		bench.hidden = append(bench.hidden, randomLogits[F](rng, hsBenchDim, 1))
	}
	for range hsBenchClasses {
		bench.classes = append(bench.classes, rng.IntN(n))
	}
	return bench
}

// fullLogits sets logits to the full output layer's W·h.
func (bench *hsBench[F]) fullLogits(h []F) {
	n := len(bench.logits)
	if is32[F]() {
		blas32.Gemv(blas.NoTrans, 1,
			blas32.General{Rows: n, Cols: hsBenchDim, Stride: hsBenchDim, Data: as32(bench.full)},
			blas32.Vector{N: hsBenchDim, Inc: 1, Data: as32(h)},
			0, blas32.Vector{N: n, Inc: 1, Data: as32(bench.logits)})
		return
	}
	blas64.Gemv(blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: hsBenchDim, Stride: hsBenchDim, Data: as64(bench.full)},
		blas64.Vector{N: hsBenchDim, Inc: 1, Data: as64(h)},
		0, blas64.Vector{N: n, Inc: 1, Data: as64(bench.logits)})
}

// fullStep is a training step of the full softmax layer: the gradient of
// the cross-entropy with respect to h (W^T·g) added to dh, then W -= lr·g·h^T.
func (bench *hsBench[F]) fullStep(h []F, class int, lr F) F {
	n := len(bench.logits)
	bench.fullLogits(h)
	loss := CrossEntropy(bench.logits, bench.logits, class)
	if is32[F]() {
		w := blas32.General{Rows: n, Cols: hsBenchDim, Stride: hsBenchDim, Data: as32(bench.full)}
		g := blas32.Vector{N: n, Inc: 1, Data: as32(bench.logits)}
		hv := blas32.Vector{N: hsBenchDim, Inc: 1, Data: as32(h)}
		blas32.Gemv(blas.Trans, 1, w, g, 1, blas32.Vector{N: hsBenchDim, Inc: 1, Data: as32(bench.dh)})
		blas32.Ger(-float32(lr), g, hv, w)
		return loss
	}
	w := blas64.General{Rows: n, Cols: hsBenchDim, Stride: hsBenchDim, Data: as64(bench.full)}
	g := blas64.Vector{N: n, Inc: 1, Data: as64(bench.logits)}
	hv := blas64.Vector{N: hsBenchDim, Inc: 1, Data: as64(h)}
	blas64.Gemv(blas.Trans, 1, w, g, 1, blas64.Vector{N: hsBenchDim, Inc: 1, Data: as64(bench.dh)})
	blas64.Ger(-float64(lr), g, hv, w)
	return loss
}

// hsFullTop5 sets best to the 5 largest logits' classes, best first, by one scan.
func hsFullTop5[F Float](x []F, best *[5]int) {
	for i := range best {
		best[i] = -1
	}
	for c, v := range x {
		if best[4] >= 0 && v <= x[best[4]] {
			continue
		}
		i := 4
		for i > 0 && (best[i-1] < 0 || v > x[best[i-1]]) {
			best[i] = best[i-1]
			i--
		}
		best[i] = c
	}
}

// hsBenchSink keeps results alive so that the compiler cannot drop the
// work.
var hsBenchSink float64

func hsBenchmark[F Float](b *testing.B) {
	benches := map[int]*hsBench[F]{}
	get := func(n int) *hsBench[F] {
		if benches[n] == nil {
			benches[n] = newHSBench[F](n)
		}
		return benches[n]
	}
	// The training steps use a small learning rate so that the weights
	// keep their scale however many iterations run.
	const lr = 1e-4

	ops := []struct {
		name string
		run  func(bench *hsBench[F], h []F, class int)
	}{
		{"full", func(bench *hsBench[F], h []F, class int) {
			bench.fullLogits(h)
			LogSoftmax(bench.logits, bench.logits)
			hsBenchSink += float64(bench.logits[class])
		}},
		{"path", func(bench *hsBench[F], h []F, class int) {
			hsBenchSink += float64(bench.model.LogProb(h, class))
		}},
		{"full-top5", func(bench *hsBench[F], h []F, class int) {
			var best [5]int
			bench.fullLogits(h)
			LogSoftmax(bench.logits, bench.logits)
			hsFullTop5(bench.logits, &best)
			hsBenchSink += float64(bench.logits[best[4]])
		}},
		{"top5", func(bench *hsBench[F], h []F, class int) {
			var classes [5]int
			var lp [5]F
			bench.model.TopK(classes[:], lp[:], h)
			hsBenchSink += float64(lp[4])
		}},
		{"full-step", func(bench *hsBench[F], h []F, class int) {
			hsBenchSink += float64(bench.fullStep(h, class, lr))
		}},
		{"step", func(bench *hsBench[F], h []F, class int) {
			hsBenchSink += float64(bench.model.Step(h, class, lr, bench.dh))
		}},
	}
	for _, op := range ops {
		for _, n := range hsBenchSizes {
			b.Run(fmt.Sprintf("%s/%d", op.name, n), func(b *testing.B) {
				bench := get(n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					op.run(bench, bench.hidden[i%hsBenchInputs], bench.classes[i%hsBenchClasses])
				}
			})
		}
	}
}
