package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// settings are the model's hyperparameters, shared by every layer.
type settings struct {
	dim     int     // embedding and hidden size
	context int     // number of previous words averaged into h
	epochs  int     // passes over the training stream
	lr      float32 // initial learning rate, decayed linearly to lr/20
	seed    uint64
}

// model is the part shared by every layer: word embeddings averaged over
// the context into the hidden vector h.
type model struct {
	s     settings
	emb   [][]float32 // emb[word]
	out   layer
	h, dh []float32
}

func newModel(s settings, c *corpus, v variant) *model {
	rng := rand.New(rand.NewPCG(s.seed, 0x5eed))
	m := &model{s: s, h: make([]float32, s.dim), dh: make([]float32, s.dim)}
	m.emb = make([][]float32, len(c.words))
	for i := range m.emb {
		e := make([]float32, s.dim)
		for j := range e {
			e[j] = float32(rng.Float64()-0.5) / float32(s.dim)
		}
		m.emb[i] = e
	}
	m.out = v.build(layerConfig{vocab: len(c.words), dim: s.dim, counts: c.counts, rng: rng})
	return m
}

// hidden sets m.h to the mean embedding of the context words before
// position p of stream.
func (m *model) hidden(stream []int32, p int) {
	clear(m.h)
	for _, w := range stream[p-m.s.context : p] {
		for j, v := range m.emb[w] {
			m.h[j] += v
		}
	}
	inv := 1 / float32(m.s.context)
	for j := range m.h {
		m.h[j] *= inv
	}
}

// epochResult is what one pass over the training stream measured.
type epochResult struct {
	duration time.Duration
	meanLoss float64
}

// train runs the epochs over the training stream in an order drawn from
// the seed, reporting progress to progress (a terminal line redrawn in
// place), and returns each epoch's measurements.
func (m *model) train(name string, stream []int32, progress io.Writer) []epochResult {
	positions := make([]int32, 0, len(stream))
	for p := m.s.context; p < len(stream); p++ {
		positions = append(positions, int32(p))
	}
	rng := rand.New(rand.NewPCG(m.s.seed, 0x0de5))
	total := m.s.epochs * len(positions)
	done := 0
	var results []epochResult

	for epoch := 1; epoch <= m.s.epochs; epoch++ {
		rng.Shuffle(len(positions), func(i, j int) {
			positions[i], positions[j] = positions[j], positions[i]
		})
		start := time.Now()
		var sum float64
		for i, p := range positions {
			lr := m.s.lr * float32(1-0.95*float64(done)/float64(total))
			m.hidden(stream, int(p))
			clear(m.dh)
			sum += m.out.step(m.h, int(stream[p]), lr, m.dh)

			// Each context word's embedding gets its share of dh.
			scale := lr / float32(m.s.context)
			for _, w := range stream[int(p)-m.s.context : p] {
				e := m.emb[w]
				for j, g := range m.dh {
					e[j] -= scale * g
				}
			}
			done++
			if i%2048 == 0 || i == len(positions)-1 {
				fmt.Fprintf(progress, "\r  %-13s epoch %d/%d %5.1f%%  mean loss %.3f ",
					name, epoch, m.s.epochs, 100*float64(i+1)/float64(len(positions)),
					sum/float64(i+1))
			}
		}
		results = append(results, epochResult{time.Since(start), sum / float64(len(positions))})
	}
	fmt.Fprintf(progress, "\r%80s\r", "")
	return results
}

// evaluation is what the held-out stream measured.
type evaluation struct {
	perplexity float64 // NaN when the layer's distribution can give 0
	top5       float64 // fraction of positions whose next word is in the top 5
}

// evaluate scores every held-out position.
func (m *model) evaluate(stream []int32) evaluation {
	var sumLogProb float64
	defined := true
	hits, n := 0, 0
	words, probs := make([]int, 5), make([]float32, 5)
	for p := m.s.context; p < len(stream); p++ {
		m.hidden(stream, p)
		target := int(stream[p])
		lp, ok := m.out.logProb(m.h, target)
		defined = defined && ok
		sumLogProb += lp
		m.out.top(m.h, words, probs)
		for _, w := range words {
			if w == target {
				hits++
			}
		}
		n++
	}
	e := evaluation{perplexity: math.NaN(), top5: float64(hits) / float64(n)}
	if defined {
		e.perplexity = math.Exp(-sumLogProb / float64(n))
	}
	return e
}
