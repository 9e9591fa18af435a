package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/gosoftmax/softmax"
)

// sampledNum is the number of words each training step contrasts the
// target with.
const sampledNum = 32

// sampledLayer is the full-softmax model trained with sampled softmax:
// each step scores the target and sampledNum distinct words drawn
// log-uniformly (the vocabulary is sorted by descending frequency, which
// that distribution assumes), so it reads sampledNum+1 weight rows instead
// of the whole matrix. Evaluation and prediction are the full softmax's,
// over every word, on the weights sampled training produced.
type sampledLayer struct {
	*softmaxLayer
	loss  *softmax.SampledSoftmax[float32]
	src   rand.Source
	label [1]int
	dh    []float32
	tries int // draws the distinct samples took, for the notes
	steps int
}

func newSampledLayer(cfg layerConfig) layer {
	sampler, err := softmax.NewLogUniformSampler(cfg.vocab)
	if err != nil {
		panic("wordlm: " + err.Error())
	}
	loss, err := softmax.NewSampledSoftmax[float32](softmax.SampledConfig{
		Dim: cfg.dim, Sampler: sampler, NumSampled: min(sampledNum, cfg.vocab)})
	if err != nil {
		panic("wordlm: " + err.Error())
	}
	return &sampledLayer{
		softmaxLayer: newSoftmaxLayer(cfg).(*softmaxLayer),
		loss:         loss,
		src:          cfg.rng,
		dh:           make([]float32, cfg.dim),
	}
}

func (l *sampledLayer) step(h []float32, target int, lr float32, dh []float32) float64 {
	l.tries += l.loss.Sample(l.src)
	l.steps++
	l.label[0] = target
	loss := l.loss.Loss(nil, l.dh, h, l.label[:], l.w.Data, l.b)
	for j, g := range l.dh {
		dh[j] += g
	}
	l.loss.Step(l.w.Data, l.b, lr)
	return float64(loss)
}

func (l *sampledLayer) notes() string {
	classes, _ := l.loss.Sampled()
	return fmt.Sprintf("%d log-uniform samples (%.1f draws each), evaluated by full softmax",
		len(classes), float64(l.tries)/float64(max(l.steps, 1)))
}
