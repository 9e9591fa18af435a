// Command wordlm trains a next-word language model on real English text and
// uses it, once for each output layer the softmax library offers: the full
// softmax and its fast variants. It prints, for each, the training time per
// epoch, the held-out perplexity and top-5 accuracy, then the five most
// likely next words for a few held-out contexts.
//
// The model is deliberately small: the hidden vector is the mean embedding
// of the previous few words, and the output layer scores every word of the
// vocabulary. That output layer is the softmax bottleneck the library's
// variants attack, so it is where the rows of the table differ.
//
// Usage:
//
//	go run ./examples/wordlm [-corpus FILE] [-seed N] [-epochs N] [-layers a,b]
//
// Without -corpus it trains on the embedded King James Version of Matthew
// to Romans (public domain; see corpus/SOURCE.md).
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// variants are the rows of the results table, in order.
var variants = []variant{
	{name: "softmax", build: newSoftmaxLayer},
	{name: "hierarchical", build: newHierarchicalLayer},
	{name: "sampled", build: newSampledLayer},
	{name: "sparsemax", build: newSparsemaxLayer},
}

func main() {
	corpusPath := flag.String("corpus", "", "train on this text file instead of the embedded corpus")
	seed := flag.Uint64("seed", 1, "seed of every random choice; a seed gives the same run")
	epochs := flag.Int("epochs", 2, "passes over the training text")
	dim := flag.Int("dim", 48, "embedding size")
	context := flag.Int("context", 3, "number of previous words the model sees")
	minCount := flag.Int("mincount", 3, "words seen fewer times become "+unknownWord)
	lr := flag.Float64("lr", 0.2, "initial learning rate of SGD")
	layers := flag.String("layers", "", "comma-separated rows to run (default all: "+
		strings.Join(variantNames(), ",")+")")
	examples := flag.Int("examples", 4, "held-out contexts whose predictions are shown")
	flag.Parse()

	s := settings{dim: *dim, context: *context, epochs: *epochs, lr: float32(*lr), seed: *seed}
	if err := run(os.Stdout, os.Stderr, *corpusPath, *layers, *minCount, *examples, s); err != nil {
		fmt.Fprintln(os.Stderr, "wordlm:", err)
		os.Exit(1)
	}
}

func variantNames() []string {
	var names []string
	for _, v := range variants {
		names = append(names, v.name)
	}
	return names
}

// run trains and evaluates each selected layer, writing the report to out
// and progress to progress.
func run(out, progress io.Writer, corpusPath, layers string, minCount, examples int,
	s settings) error {

	selected, err := selectVariants(layers)
	if err != nil {
		return err
	}
	if s.dim < 1 || s.context < 1 || s.epochs < 1 || !(s.lr > 0) || minCount < 1 {
		return fmt.Errorf("-dim, -context, -epochs, -mincount and -lr must be positive")
	}
	name, text, err := readCorpus(corpusPath)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("corpus %s is empty", name)
	}
	c, err := buildCorpus(name, text, minCount, 10)
	if err != nil {
		return err
	}
	if err := c.checkSize(s.context); err != nil {
		return err
	}

	fmt.Fprintf(out, "corpus:  %s, %d kB, %d words; vocabulary %d (words seen %d+ times, "+
		"the rest as %s)\n", c.name, (c.bytes+500)/1000, len(c.train)+len(c.heldOut), len(c.words),
		minCount, unknownWord)
	fmt.Fprintf(out, "split:   %d training words, %d held out (every 10th line)\n",
		len(c.train), len(c.heldOut))
	fmt.Fprintf(out, "model:   mean embedding of the previous %d words (dim %d), SGD from "+
		"lr %g, %d epochs, seed %d\n\n", s.context, s.dim, s.lr, s.epochs, s.seed)

	shown := exampleContexts(c.heldOut, s.context, examples)
	type row struct {
		name   string
		epoch  time.Duration
		eval   evaluation
		notes  string
		picked [][]string
	}
	var rows []row
	for _, v := range selected {
		m := newModel(s, c, v)
		epochs := m.train(v.name, c.train, progress)
		var total time.Duration
		for _, e := range epochs {
			total += e.duration
		}
		r := row{name: v.name, epoch: total / time.Duration(len(epochs))}
		r.eval = m.evaluate(c.heldOut)
		r.notes = m.out.notes()
		for _, p := range shown {
			r.picked = append(r.picked, m.predictions(c, p))
		}
		rows = append(rows, r)
		fmt.Fprintf(progress, "  %-13s done: %.1fs per epoch\n", v.name, r.epoch.Seconds())
	}

	fmt.Fprintf(out, "%-13s %11s %11s %10s  %s\n", "layer", "time/epoch", "perplexity",
		"top-5 acc", "notes")
	for _, r := range rows {
		ppl := fmt.Sprintf("%.1f", r.eval.perplexity)
		if math.IsNaN(r.eval.perplexity) {
			ppl = "undefined"
		}
		fmt.Fprintf(out, "%-13s %10.2fs %11s %9.1f%%  %s\n", r.name, r.epoch.Seconds(), ppl,
			100*r.eval.top5, r.notes)
	}

	for i, p := range shown {
		fmt.Fprintf(out, "\n%q → next word %q\n",
			strings.Join(contextWords(c, c.heldOut, p, 8), " ")+" ___", c.words[c.heldOut[p]])
		for _, r := range rows {
			fmt.Fprintf(out, "  %-13s %s\n", r.name, strings.Join(r.picked[i], "  "))
		}
	}
	return nil
}

// selectVariants returns the variants named in the comma-separated list,
// or all of them for an empty list.
func selectVariants(list string) ([]variant, error) {
	if list == "" {
		return variants, nil
	}
	var out []variant
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(variants, func(v variant) bool { return v.name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown layer %q (have %s)", name,
				strings.Join(variantNames(), ", "))
		}
		out = append(out, variants[i])
	}
	return out, nil
}

// exampleContexts picks n held-out positions spread evenly over the stream.
func exampleContexts(stream []int32, context, n int) []int {
	var ps []int
	for i := range n {
		ps = append(ps, context+(len(stream)-context)*(2*i+1)/(2*n))
	}
	return ps
}

// contextWords returns up to n words before position p of stream.
func contextWords(c *corpus, stream []int32, p, n int) []string {
	var ws []string
	for _, w := range stream[max(0, p-n):p] {
		ws = append(ws, c.words[w])
	}
	return ws
}

// predictions returns the five most likely next words at position p of
// the held-out stream, with their probabilities, formatted.
func (m *model) predictions(c *corpus, p int) []string {
	m.hidden(c.heldOut, p)
	words, probs := make([]int, 5), make([]float32, 5)
	m.out.top(m.h, words, probs)
	var out []string
	for i, w := range words {
		if w >= 0 {
			out = append(out, fmt.Sprintf("%s %.3f", c.words[w], probs[i]))
		}
	}
	return out
}
