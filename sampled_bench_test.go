package softmax

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// The sampled softmax benchmarks are named <type>/<op>/<n>: one training
// step of an output layer of n classes over a hidden vector of 128, with
//
//   - full: the logits by Gemv, CrossEntropy, the gradient with respect to
//     the hidden vector by a transposed Gemv, and the gradient of every
//     weight row applied by Ger (and of every bias by Axpy);
//   - sampled64: Sample (64 distinct classes, log-uniform), Loss (the
//     gradient with respect to the hidden vector and the sparse gradients)
//     and Step.
//
// Both apply their gradients, so that each op is a whole step. SetBytes is
// the size of the weights, so MB/s compares the two directly. The targets
// cycle through classes drawn log-uniformly, as words in text would be.
//
// BenchmarkSampledSpeedup/<type>/<n> runs the two alternately, one full
// step then sampledPerFull sampled ones, and reports the ratio of their
// times per step as "speedup": on a shared machine both see the same load.

const (
	benchDim       = 128
	sampledPerFull = 100
)

var benchClasses = []int{10000, 100000}

func BenchmarkSampledSoftmax(b *testing.B) {
	benchSampledSoftmax[float32](b)
	benchSampledSoftmax[float64](b)
}

func benchSampledSoftmax[F Float](b *testing.B) {
	for _, n := range benchClasses {
		full, sampled := benchSteps[F](b, n)
		for _, op := range []struct {
			name string
			step func()
		}{{"full", full}, {"sampled64", sampled}} {
			b.Run(fmt.Sprintf("%T/%s/%d", F(0), op.name, n), func(b *testing.B) {
				b.SetBytes(int64(n * benchDim * sizeOf[F]()))
				b.ReportAllocs()
				for b.Loop() {
					op.step()
				}
			})
		}
	}
}

func BenchmarkSampledSpeedup(b *testing.B) {
	benchSampledSpeedup[float32](b)
	benchSampledSpeedup[float64](b)
}

func benchSampledSpeedup[F Float](b *testing.B) {
	for _, n := range benchClasses {
		full, sampled := benchSteps[F](b, n)
		b.Run(fmt.Sprintf("%T/%d", F(0), n), func(b *testing.B) {
			b.ReportAllocs()
			var tFull, tSampled time.Duration
			for b.Loop() {
				t0 := time.Now()
				full()
				t1 := time.Now()
				for range sampledPerFull {
					sampled()
				}
				tSampled += time.Since(t1)
				tFull += t1.Sub(t0)
			}
			b.ReportMetric(float64(tFull)*sampledPerFull/float64(tSampled), "speedup")
		})
	}
}

// benchSteps returns the two training steps over n classes that the
// benchmarks time, on one layer's weights.
func benchSteps[F Float](b *testing.B, n int) (full, sampled func()) {
	sampler, err := NewLogUniformSampler(n)
	if err != nil {
		b.Fatal(err)
	}
	src := rand.NewPCG(1, uint64(n))
	targets := make([]int, 1024)
	for i := range targets {
		targets[i] = sampler.Draw(src)
	}
	rng := rand.New(rand.NewPCG(2, uint64(n)))
	w, bias, h := weightsFor[F](rng, n, benchDim, 1)
	const lr = 1e-4

	logits, g, dh := make([]F, n), make([]F, n), make([]F, benchDim)
	i := 0
	full = func() {
		copy(logits, bias)
		gemv(blas.NoTrans, 1, w, n, h, 1, logits)
		benchSink = float64(CrossEntropy(g, logits, targets[i%len(targets)]))
		gemv(blas.Trans, 1, w, n, g, 0, dh)
		ger(-lr, g, h, w)
		axpy(-lr, g, bias)
		i++
	}

	s, err := NewSampledSoftmax[F](SampledConfig{Dim: benchDim, Sampler: sampler, NumSampled: 64})
	if err != nil {
		b.Fatal(err)
	}
	j := 0
	sampled = func() {
		s.Sample(src)
		benchSink = float64(s.Loss(nil, dh, h, targets[j%len(targets):][:1], w, bias))
		s.Step(w, bias, lr)
		j++
	}

	// Size the workspace and touch every page before timing.
	full()
	sampled()
	return full, sampled
}

// gemv sets y = alpha·op(A)·x + beta·y for the row-major matrix A of rows
// rows of benchDim, through gonum's BLAS.
func gemv[F Float](t blas.Transpose, alpha F, a []F, rows int, x []F, beta F, y []F) {
	if is32[F]() {
		m := blas32.General{Rows: rows, Cols: benchDim, Stride: benchDim, Data: as32(a)}
		blas32.Gemv(t, float32(alpha), m, vec32(x), float32(beta), vec32(y))
		return
	}
	m := blas64.General{Rows: rows, Cols: benchDim, Stride: benchDim, Data: as64(a)}
	blas64.Gemv(t, float64(alpha), m, vec64(x), float64(beta), vec64(y))
}

// ger sets A += alpha·x·yᵀ for the row-major matrix A of len(x) rows of
// benchDim.
func ger[F Float](alpha F, x, y, a []F) {
	if is32[F]() {
		m := blas32.General{Rows: len(x), Cols: benchDim, Stride: benchDim, Data: as32(a)}
		blas32.Ger(float32(alpha), vec32(x), vec32(y), m)
		return
	}
	m := blas64.General{Rows: len(x), Cols: benchDim, Stride: benchDim, Data: as64(a)}
	blas64.Ger(float64(alpha), vec64(x), vec64(y), m)
}

// BenchmarkSampler measures one draw from each sampler over 100000
// classes; the unigram counts are Zipfian, raised to the power 0.75.
// BenchmarkSamplerRatio draws from the unigram and the uniform sampler in
// alternating blocks of drawBlock and reports the ratio of their times per
// draw as "unigram/uniform".
func BenchmarkSampler(b *testing.B) {
	for _, s := range benchSamplers(b) {
		b.Run(s.name, func(b *testing.B) {
			src := rand.NewPCG(1, 2)
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				sum += s.sampler.Draw(src)
			}
			benchSink = float64(sum)
		})
	}
}

const drawBlock = 4096

func BenchmarkSamplerRatio(b *testing.B) {
	samplers := benchSamplers(b)
	uniform, unigram := samplers[0].sampler, samplers[2].sampler
	src := rand.NewPCG(1, 2)
	b.ReportAllocs()
	var tUniform, tUnigram time.Duration
	sum := 0
	for b.Loop() {
		t0 := time.Now()
		for range drawBlock {
			sum += uniform.Draw(src)
		}
		t1 := time.Now()
		for range drawBlock {
			sum += unigram.Draw(src)
		}
		tUnigram += time.Since(t1)
		tUniform += t1.Sub(t0)
	}
	benchSink = float64(sum)
	b.ReportMetric(float64(tUnigram)/float64(tUniform), "unigram/uniform")
}

type namedSampler struct {
	name    string
	sampler Sampler
}

// benchSamplers returns the uniform, log-uniform and unigram samplers the
// benchmarks draw from, in that order.
func benchSamplers(b *testing.B) []namedSampler {
	const n = 100000
	counts := make([]float64, n)
	for i := range counts {
		counts[i] = 1e7 / float64(i+1)
	}
	uniform, err := NewUniformSampler(n)
	if err != nil {
		b.Fatal(err)
	}
	logUniform, err := NewLogUniformSampler(n)
	if err != nil {
		b.Fatal(err)
	}
	unigram, err := NewUnigramSampler(counts, 0.75)
	if err != nil {
		b.Fatal(err)
	}
	return []namedSampler{{"uniform", uniform}, {"loguniform", logUniform}, {"unigram", unigram}}
}
