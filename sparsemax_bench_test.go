package softmax

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The sparsemax benchmarks are named <type>/<algorithm>/<input>, so that
// benchstat can compare the two algorithms on one input (-col /algorithm).
// The algorithm "sort" is the definition below, kept here as the baseline;
// "linear" is the library's Sparsemax. The inputs are n logits drawn from a
// standard normal distribution, and two whose support is the whole vector,
// where the filter keeps everything: ramp-<n>, n distinct values spaced
// 1/n² apart, and equal-<n>, n equal values.

var sparsemaxBenchSizes = []int{16, 100, 1000, 10000, 1000000}

// sortSparsemax is the sort-based definition of sparsemax (Martins and
// Astudillo, 2016, Algorithm 1): sort the inputs, walk them from the largest
// keeping the prefix sum S_k, take the largest k with 1 + k·z_(k) > S_k, and
// the threshold (S_k - 1)/k. It computes in float64 on inputs shifted by the
// maximum, as the library does, and uses scratch (len(src) elements) for
// the sorted copy. It assumes no NaN or +Inf.
func sortSparsemax[F Float](dst, src, scratch []F) (threshold F, support int) {
	z := scratch[:len(src)]
	copy(z, src)
	slices.Sort(z)

	m := float64(z[len(z)-1])
	var sum float64
	k := 0
	for i := len(z) - 1; i >= 0; i-- {
		w := float64(z[i]) - m
		if 1+float64(k+1)*w <= sum+w {
			break
		}
		sum += w
		k++
	}

	tau := (sum - 1) / float64(k)
	for i, x := range src {
		dst[i] = F(max((float64(x)-m)-tau, 0))
	}
	return F(m + tau), k
}

// sparsemaxBenchInput returns the named input of n elements.
func sparsemaxBenchInput[F Float](kind string, n int) []F {
	x := make([]F, n)
	switch kind {
	case "normal":
		rng := rand.New(rand.NewPCG(21, uint64(n)))
		for i := range x {
			x[i] = F(rng.NormFloat64())
		}
	case "ramp":
		// The values sum to less than 1 above the smallest, so every one
		// is in the support.
		for i := range x {
			x[i] = F(float64(i) / (float64(n) * float64(n)))
		}
	case "equal":
		for i := range x {
			x[i] = 0.25
		}
	}
	return x
}

func BenchmarkSparsemax(b *testing.B) {
	benchSparsemax[float32](b)
	benchSparsemax[float64](b)
}

// forEachSparsemaxInput calls f with the name and values of every
// benchmark input: <n> for normal logits, ramp-<n> and equal-<n>.
func forEachSparsemaxInput[F Float](f func(name string, x []F)) {
	for _, kind := range []string{"normal", "ramp", "equal"} {
		for _, n := range sparsemaxBenchSizes {
			name := fmt.Sprint(n)
			if kind != "normal" {
				name = kind + "-" + name
			}
			f(name, sparsemaxBenchInput[F](kind, n))
		}
	}
}

func benchSparsemax[F Float](b *testing.B) {
	forEachSparsemaxInput(func(name string, x []F) {
		n := len(x)
		y, scratch := make([]F, n), make([]F, n)
		for _, alg := range []string{"sort", "linear"} {
			b.Run(fmt.Sprintf("%T/%s/%s", F(0), alg, name), func(b *testing.B) {
				b.SetBytes(int64(n * sizeOf[F]()))
				b.ReportAllocs()
				var k int
				for b.Loop() {
					if alg == "sort" {
						_, k = sortSparsemax(y, x, scratch)
					} else {
						_, k = Sparsemax(y, x)
					}
				}
				b.ReportMetric(float64(k), "support")
			})
		}
	})
}

// BenchmarkSparsemaxSpeedup reports the figure the two algorithms are
// judged by, sort/linear: the time of the sort-based definition divided by
// the library's, on the inputs of BenchmarkSparsemax (above 1, the
// library is faster). Each iteration times a short batch of calls of each
// algorithm in turn, and the ratio is that of the best batches, so that
// the two are measured side by side in one run and a busy machine, which
// slows some batches down, does not bias it. ns/op is the time of one
// batch of each and means little.
func BenchmarkSparsemaxSpeedup(b *testing.B) {
	speedupSparsemax[float32](b)
	speedupSparsemax[float64](b)
}

func speedupSparsemax[F Float](b *testing.B) {
	forEachSparsemaxInput(func(name string, x []F) {
		n := len(x)
		y, scratch := make([]F, n), make([]F, n)
		b.Run(fmt.Sprintf("%T/%s", F(0), name), func(b *testing.B) {
			// About 20µs of the library's work per batch.
			batch := max(1, 20000/n)
			best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
			b.ReportAllocs()
			for b.Loop() {
				for alg := range best {
					start := time.Now()
					for range batch {
						if alg == 0 {
							sortSparsemax(y, x, scratch)
						} else {
							Sparsemax(y, x)
						}
					}
					best[alg] = min(best[alg], time.Since(start))
				}
			}
			b.ReportMetric(float64(best[0])/float64(best[1]), "sort/linear")
		})
	})
}

// BenchmarkSparsemaxInPlace measures Sparsemax(x, x), which keeps its
// candidates on the stack and then in a pooled buffer rather than in dst.
func BenchmarkSparsemaxInPlace(b *testing.B) {
	for _, kind := range []string{"normal", "ramp"} {
		for _, n := range []int{100, 10000, 1000000} {
			src := sparsemaxBenchInput[float32](kind, n)
			x := make([]float32, n)
			b.Run(fmt.Sprintf("float32/%s-%d", kind, n), func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				b.ReportAllocs()
				for b.Loop() {
					copy(x, src)
					Sparsemax(x, x)
				}
			})
		}
	}
}

// BenchmarkSparsemaxLoss measures the loss with its gradient and the
// backward pass, at a vocabulary-sized n.
func BenchmarkSparsemaxLoss(b *testing.B) {
	const n = 32000
	x := sparsemaxBenchInput[float32]("normal", n)
	grad, p := make([]float32, n), make([]float32, n)
	b.Run("float32/loss/32000", func(b *testing.B) {
		b.SetBytes(4 * n)
		b.ReportAllocs()
		for b.Loop() {
			SparsemaxLoss(grad, x, n/3)
		}
	})
	b.Run("float32/loss-only/32000", func(b *testing.B) {
		b.SetBytes(4 * n)
		b.ReportAllocs()
		for b.Loop() {
			SparsemaxLoss(nil, x, n/3)
		}
	})
	Sparsemax(p, x)
	b.Run("float32/backward/32000", func(b *testing.B) {
		b.SetBytes(4 * n)
		b.ReportAllocs()
		for b.Loop() {
			SparsemaxBackward(grad, p, x)
		}
	})
}
