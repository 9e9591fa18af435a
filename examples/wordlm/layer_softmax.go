package main

import (
	"fmt"

	"github.com/gosoftmax/softmax"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// softmaxLayer is the full softmax: logits W h + b over every word, trained
// with softmax.CrossEntropy. Its cost per example is three passes over the
// vocabulary-sized weight matrix, which is what the fast variants avoid.
type softmaxLayer struct {
	w      blas32.General // vocab × dim
	b      []float32
	logits []float32
	grad   []float32
}

func newSoftmaxLayer(cfg layerConfig) layer {
	l := &softmaxLayer{
		w:      blas32.General{Rows: cfg.vocab, Cols: cfg.dim, Stride: cfg.dim},
		b:      make([]float32, cfg.vocab),
		logits: make([]float32, cfg.vocab),
		grad:   make([]float32, cfg.vocab),
	}
	l.w.Data = make([]float32, cfg.vocab*cfg.dim)
	return l
}

// forward sets l.logits = W h + b.
func (l *softmaxLayer) forward(h []float32) {
	copy(l.logits, l.b)
	blas32.Gemv(blas.NoTrans, 1, l.w, vec(h), 1, vec(l.logits))
}

func (l *softmaxLayer) step(h []float32, target int, lr float32, dh []float32) float64 {
	l.forward(h)
	loss := softmax.CrossEntropy(l.grad, l.logits, target)

	// dh += Wᵀ grad before W changes; then W -= lr grad hᵀ and b -= lr grad.
	blas32.Gemv(blas.Trans, 1, l.w, vec(l.grad), 1, vec(dh))
	blas32.Ger(-lr, vec(l.grad), vec(h), l.w)
	blas32.Axpy(-lr, vec(l.grad), vec(l.b))
	return float64(loss)
}

func (l *softmaxLayer) logProb(h []float32, target int) (float64, bool) {
	l.forward(h)
	return -float64(softmax.CrossEntropy(nil, l.logits, target)), true
}

func (l *softmaxLayer) top(h []float32, words []int, probs []float32) {
	l.forward(h)
	softmax.Softmax(l.logits, l.logits)
	topOf(l.logits, words, probs)
}

func (l *softmaxLayer) notes() string {
	return fmt.Sprintf("full softmax over %d words (kernel %s)", l.w.Rows, softmax.Kernel())
}

// vec views a slice as a gonum vector.
func vec(x []float32) blas32.Vector { return blas32.Vector{N: len(x), Inc: 1, Data: x} }
