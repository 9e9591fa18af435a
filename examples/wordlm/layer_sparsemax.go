package main

import (
	"fmt"
	"math"

	"github.com/gosoftmax/softmax"
	"gonum.org/v1/gonum/blas/blas32"
)

// sparsemaxLayer is the output layer of the full softmax (logits W h + b
// over every word) trained with the sparsemax loss (Martins and Astudillo,
// 2016) instead of cross-entropy. Its distribution, sparsemax(logits), gives
// most words probability exactly 0, and its gradient, sparsemax(logits) -
// onehot(target), is zero but on the support and the target, so a step
// updates only those rows of W: after the first steps, the forward pass is
// nearly all its cost.
type sparsemaxLayer struct {
	// The weights, biases and buffers are the full softmax's; grad holds
	// the gradient in step and the distribution elsewhere.
	*softmaxLayer

	// Statistics of the held-out evaluation, which calls logProb once per
	// position.
	evals, supportSum, zeroTarget int
}

func newSparsemaxLayer(cfg layerConfig) layer {
	return &sparsemaxLayer{softmaxLayer: newSoftmaxLayer(cfg).(*softmaxLayer)}
}

func (l *sparsemaxLayer) step(h []float32, target int, lr float32, dh []float32) float64 {
	l.forward(h)
	loss := softmax.SparsemaxLoss(l.grad, l.logits, target)

	// For each word whose gradient g is not zero: dh += g·W[i] before the
	// row changes, then W[i] -= lr·g·h and b[i] -= lr·g.
	for i, g := range l.grad {
		if g == 0 {
			continue
		}
		row := vec(l.w.Data[i*l.w.Stride : i*l.w.Stride+l.w.Cols])
		blas32.Axpy(g, row, vec(dh))
		blas32.Axpy(-lr*g, vec(h), row)
		l.b[i] -= lr * g
	}
	return float64(loss)
}

// logProb returns log p[target], which is -Inf where sparsemax gives the
// true word 0, and always reports that perplexity is undefined: the
// distribution can give a word probability 0.
func (l *sparsemaxLayer) logProb(h []float32, target int) (float64, bool) {
	l.forward(h)
	_, support := softmax.Sparsemax(l.grad, l.logits)
	l.evals++
	l.supportSum += support
	p := l.grad[target]
	if p == 0 {
		l.zeroTarget++
	}
	return math.Log(float64(p)), false
}

// top ranks the words by logit: sparsemax keeps their order, so these are
// the most probable words, and the ranking also orders those it gives 0.
func (l *sparsemaxLayer) top(h []float32, words []int, probs []float32) {
	l.forward(h)
	topOf(l.logits, words, probs)
	softmax.Sparsemax(l.grad, l.logits)
	for i, w := range words {
		if w >= 0 {
			probs[i] = l.grad[w]
		}
	}
}

func (l *sparsemaxLayer) notes() string {
	if l.evals == 0 {
		return "sparsemax loss"
	}
	return fmt.Sprintf("sparsemax loss; mean support %.1f of %d words; perplexity undefined: "+
		"the true word got p = 0 at %.0f%% of held-out positions",
		float64(l.supportSum)/float64(l.evals), l.w.Rows,
		100*float64(l.zeroTarget)/float64(l.evals))
}
