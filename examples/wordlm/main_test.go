package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// smallCorpus writes the first part of the embedded corpus to a file in
// dir and returns its path.
func smallCorpus(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(path, []byte(defaultCorpus[:120000]), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// smallRun trains every layer briefly on the corpus at path and returns
// the report.
func smallRun(t *testing.T, path string, seed uint64) string {
	t.Helper()
	var out bytes.Buffer
	s := settings{dim: 16, context: 3, epochs: 1, lr: 0.2, seed: seed}
	if err := run(&out, io.Discard, path, "", 3, 2, s); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// times matches the time column with its padding, the only part of a report
// that may differ between two runs with the same seed.
var times = regexp.MustCompile(` +\d+\.\d+s `)

func TestDeterministic(t *testing.T) {
	path := smallCorpus(t, t.TempDir())
	a, b := smallRun(t, path, 7), smallRun(t, path, 7)
	if times.ReplaceAllString(a, "") != times.ReplaceAllString(b, "") {
		t.Errorf("two runs with seed 7 differ:\n%s\n---\n%s", a, b)
	}
	if c := smallRun(t, path, 8); times.ReplaceAllString(a, "") == times.ReplaceAllString(c, "") {
		t.Errorf("seeds 7 and 8 gave the same report")
	}
	for _, v := range variants {
		if !strings.Contains(a, "\n"+v.name+" ") {
			t.Errorf("report has no row for %s:\n%s", v.name, a)
		}
	}
}

// TestLearns checks that training beats the uniform distribution by a wide
// margin: the full-softmax perplexity is well under the vocabulary size.
func TestLearns(t *testing.T) {
	report := smallRun(t, smallCorpus(t, t.TempDir()), 1)
	m := regexp.MustCompile(`vocabulary (\d+)`).FindStringSubmatch(report)
	row := regexp.MustCompile(`\nsoftmax +[\d.]+s +([\d.]+) +([\d.]+)%`).FindStringSubmatch(report)
	if m == nil || row == nil {
		t.Fatalf("cannot read the report:\n%s", report)
	}
	var vocab, ppl, top5 float64
	mustParse(t, m[1], &vocab)
	mustParse(t, row[1], &ppl)
	mustParse(t, row[2], &top5)
	if ppl > vocab/4 || top5 < 10 {
		t.Errorf("softmax perplexity %g (vocabulary %g), top-5 %g%%: the model did not learn",
			ppl, vocab, top5)
	}
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
