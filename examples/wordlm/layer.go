package main

import "math/rand/v2"

// A layer is one way to train and use the model's output layer over the
// vocabulary. Each row of the results table is one layer.
type layer interface {
	// step trains on one example: h is the context vector, target the
	// next word. It updates the layer's parameters with learning rate lr,
	// adds the gradient of the loss with respect to h into dh, and returns
	// the example's loss.
	step(h []float32, target int, lr float32, dh []float32) float64

	// logProb returns log P(target | h) under the layer's distribution; ok
	// is false where that distribution can give a word probability 0
	// (perplexity is then undefined).
	logProb(h []float32, target int) (lp float64, ok bool)

	// top writes the len(words) most probable next words, best first, into
	// words and their probabilities into probs.
	top(h []float32, words []int, probs []float32)

	// notes returns the table's notes column, such as statistics gathered
	// during evaluation; it may return "".
	notes() string
}

// layerConfig is what a layer is built from.
type layerConfig struct {
	vocab  int        // number of word ids
	dim    int        // length of h
	counts []int      // corpus count of each word id, non-increasing
	rng    *rand.Rand // seeded from -seed; every random choice comes from it
}

// A variant names a layer constructor: one row of the table.
type variant struct {
	name  string
	build func(cfg layerConfig) layer
}

// topOf writes the len(words) largest entries of p, best first, into words
// and probs. k is small, so a partial insertion sort beats a heap.
func topOf(p []float32, words []int, probs []float32) {
	k := len(words)
	for i := range k {
		words[i], probs[i] = -1, -1
	}
	for id, v := range p {
		if v <= probs[k-1] {
			continue
		}
		j := k - 1
		for j > 0 && probs[j-1] < v {
			words[j], probs[j] = words[j-1], probs[j-1]
			j--
		}
		words[j], probs[j] = id, v
	}
}
