package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// smallCorpus writes the first size bytes of the embedded corpus to a
// file in dir and returns its path.
func smallCorpus(t *testing.T, dir string, size int) string {
	t.Helper()
	path := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(path, []byte(defaultCorpus[:size]), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// smallRun trains every layer with s on the corpus at path and returns the
// report.
func smallRun(t *testing.T, path string, s settings) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out, io.Discard, path, "", 3, 2, s); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// times matches the time column with its padding, the only part of a report
// that may differ between two runs with the same seed.
var times = regexp.MustCompile(` +\d+\.\d+s `)

// TestDeterministic checks that a seed gives the same report, and another
// seed another one. Determinism does not need a model that learns much, so
// the run is small: this test also runs under emulation in CI.
func TestDeterministic(t *testing.T) {
	path := smallCorpus(t, t.TempDir(), 60000)
	s := settings{dim: 8, context: 3, epochs: 1, lr: 0.2, seed: 7}
	a, b := smallRun(t, path, s), smallRun(t, path, s)
	if times.ReplaceAllString(a, "") != times.ReplaceAllString(b, "") {
		t.Errorf("two runs with seed 7 differ:\n%s\n---\n%s", a, b)
	}
	s.seed = 8
	if c := smallRun(t, path, s); times.ReplaceAllString(a, "") == times.ReplaceAllString(c, "") {
		t.Errorf("seeds 7 and 8 gave the same report")
	}
	for _, v := range variants {
		if !strings.Contains(a, "\n"+v.name+" ") {
			t.Errorf("report has no row for %s:\n%s", v.name, a)
		}
	}
}

// TestLearns checks that every layer that reports a perplexity beats the
// best model that ignores the context, the unigram distribution of the
// training words scored on the same held-out words, and that every layer
// puts the next word in its top five at least a fifth of the time.
func TestLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for seconds; the full run of CI's native legs checks it")
	}
	path := smallCorpus(t, t.TempDir(), 120000)
	report := smallRun(t, path, settings{dim: 24, context: 3, epochs: 2, lr: 0.2, seed: 1})

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := buildCorpus(path, string(data), 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	unigram := unigramPerplexity(c, 3)

	rows := regexp.MustCompile(`\n(\w+) +[\d.]+s +([\d.]+|undefined) +([\d.]+)%`).
		FindAllStringSubmatch(report, -1)
	if len(rows) != len(variants) {
		t.Fatalf("cannot read every row of the report:\n%s", report)
	}
	for _, row := range rows {
		ppl, top5 := 0.0, 0.0 // an undefined perplexity (sparsemax) is not compared
		if row[2] != "undefined" {
			mustParse(t, row[2], &ppl)
		}
		mustParse(t, row[3], &top5)
		if ppl > 0.8*unigram || top5 < 20 {
			t.Errorf("%s: perplexity %g against the unigram model's %.1f, top-5 %g%%: "+
				"it did not learn from the context", row[1], ppl, unigram, top5)
		}
	}
}

// unigramPerplexity is the held-out perplexity of the training words'
// frequencies (add-one smoothed), over the positions the model is scored on.
func unigramPerplexity(c *corpus, context int) float64 {
	counts := make([]float64, len(c.words))
	for _, w := range c.train {
		counts[w]++
	}
	total := float64(len(c.train) + len(c.words))
	var sum float64
	for _, w := range c.heldOut[context:] {
		sum += math.Log((counts[w] + 1) / total)
	}
	return math.Exp(-sum / float64(len(c.heldOut)-context))
}

func mustParse(t *testing.T, s string, v *float64) {
	t.Helper()
	if _, err := fmt.Sscan(s, v); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
}

func TestBadCorpus(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	blank := filepath.Join(dir, "blank.txt")
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(blank, []byte("\n \n\t\n... ,,, 123\n"), 0o644)
	os.WriteFile(small, []byte(strings.Repeat("the cat sat on the mat and the dog ran. ", 50)), 0o644)
	s := settings{dim: 8, context: 3, epochs: 1, lr: 0.1, seed: 1}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.txt"), "cannot read corpus"},
		{dir, "cannot read corpus"},
		{empty, "is empty"},
		{blank, "has no words"},
		{small, "too small to train on"},
	} {
		err := run(io.Discard, io.Discard, c.path, "", 3, 2, s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.path, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", c.path, err)
		}
	}
	if err := run(io.Discard, io.Discard, "", "nosuch", 3, 2, s); err == nil {
		t.Errorf("unknown layer: no error")
	}
}
