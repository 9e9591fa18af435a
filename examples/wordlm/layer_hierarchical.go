package main

import (
	"fmt"
	"math"

	"github.com/gosoftmax/softmax"
)

// hierarchicalLayer is the hierarchical softmax: a Huffman tree over the
// corpus counts, as word2vec and fastText build it, with one weight row
// per internal node. A word's probability is the product of the logistic
// decisions on its path, so training and scoring touch only that path,
// about log2(vocab) rows and fewer for frequent words, and the
// distribution is still normalized: the perplexity is defined. The five
// best words come from the library's exact best-first search.
type hierarchicalLayer struct {
	m        *softmax.Hierarchical[float32]
	meanPath float64 // decisions per word, weighted by corpus count
	lps      []float32
}

func newHierarchicalLayer(cfg layerConfig) layer {
	counts := make([]int64, cfg.vocab)
	total, weighted := 0.0, 0.0
	for i, c := range cfg.counts {
		counts[i] = int64(c)
	}
	tree, err := softmax.NewHuffmanTree(counts)
	if err != nil {
		// The corpus keeps only words seen at least once, and at least 20
		// of them, so the counts are always valid.
		panic(err)
	}
	for i, c := range cfg.counts {
		total += float64(c)
		weighted += float64(c) * float64(tree.Depth(i))
	}

	// Zero weights, as word2vec starts its output layer: every decision
	// begins at even odds, and the embeddings break the symmetry.
	m, err := softmax.NewHierarchical(tree, cfg.dim, make([]float32, tree.Rows()*cfg.dim))
	if err != nil {
		panic(err)
	}
	return &hierarchicalLayer{m: m, meanPath: weighted / total}
}

func (l *hierarchicalLayer) step(h []float32, target int, lr float32, dh []float32) float64 {
	return float64(l.m.Step(h, target, lr, dh))
}

func (l *hierarchicalLayer) logProb(h []float32, target int) (float64, bool) {
	return float64(l.m.LogProb(h, target)), true
}

func (l *hierarchicalLayer) top(h []float32, words []int, probs []float32) {
	if cap(l.lps) < len(words) {
		l.lps = make([]float32, len(words))
	}
	lps := l.lps[:len(words)]
	n := l.m.TopK(words, lps, h)
	for i := range words {
		if i < n {
			probs[i] = float32(math.Exp(float64(lps[i])))
		} else {
			words[i], probs[i] = -1, 0
		}
	}
}

func (l *hierarchicalLayer) notes() string {
	t := l.m.Tree()
	return fmt.Sprintf("Huffman tree: %.1f decisions per word on average, at most %d",
		l.meanPath, t.MaxDepth())
}
