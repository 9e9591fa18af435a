package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"
)

// defaultCorpus is the King James Version of Matthew through Romans; see
// corpus/SOURCE.md for its source and license.
//
//go:embed corpus/kjv-gospels-acts-romans.txt
var defaultCorpus string

const defaultCorpusName = "King James Version, Matthew to Romans (embedded)"

// unknownWord stands for every word seen fewer than -mincount times.
const unknownWord = "<unk>"

// corpus is a text turned into word ids, split into training and held-out
// streams.
type corpus struct {
	name    string
	bytes   int
	words   []string // words[id]; ids sorted by descending count
	counts  []int    // counts[id], non-increasing
	train   []int32  // training stream of word ids
	heldOut []int32  // held-out stream of word ids
}

// readCorpus returns the text of the corpus at path, or of the embedded
// default corpus when path is empty.
func readCorpus(path string) (name, text string, err error) {
	if path == "" {
		return defaultCorpusName, defaultCorpus, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return "", "", fmt.Errorf("cannot read corpus %s: %v", path, err)
	}
	return path, string(data), nil
}

// tokenize splits text into lines of lower-case words: runs of letters,
// with apostrophes kept inside words.
func tokenize(text string) [][]string {
	var lines [][]string
	for line := range strings.Lines(text) {
		words := strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
			return !unicode.IsLetter(r) && r != '\''
		})
		var kept []string
		for _, w := range words {
			if w = strings.Trim(w, "'"); w != "" {
				kept = append(kept, w)
			}
		}
		if len(kept) > 0 {
			lines = append(lines, kept)
		}
	}
	return lines
}

// buildCorpus makes the vocabulary (words seen at least minCount times,
// the rest mapped to unknownWord) and the two streams: every heldOutEvery-th
// line is held out.
func buildCorpus(name, text string, minCount, heldOutEvery int) (*corpus, error) {
	lines := tokenize(text)
	count := map[string]int{}
	total := 0
	for _, line := range lines {
		for _, w := range line {
			count[w]++
			total++
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("corpus %s has no words", name)
	}

	// Keep the frequent words, fold the rest into unknownWord, and order
	// the ids by descending count (ties alphabetically, for determinism).
	kept := map[string]int{}
	for w, n := range count {
		if n >= minCount {
			kept[w] = n
		} else {
			kept[unknownWord] += n
		}
	}
	words := make([]string, 0, len(kept))
	for w := range kept {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if kept[a] != kept[b] {
			return kept[b] - kept[a]
		}
		return strings.Compare(a, b)
	})
	id := make(map[string]int32, len(words))
	counts := make([]int, len(words))
	for i, w := range words {
		id[w] = int32(i)
		counts[i] = kept[w]
	}

	c := &corpus{name: name, bytes: len(text), words: words, counts: counts}
	for i, line := range lines {
		stream := &c.train
		if i%heldOutEvery == heldOutEvery-1 {
			stream = &c.heldOut
		}
		for _, w := range line {
			wid, ok := id[w]
			if !ok {
				wid = id[unknownWord]
			}
			*stream = append(*stream, wid)
		}
	}
	return c, nil
}

// checkSize reports whether the corpus is big enough to train a model with
// the given context length and say something about it.
func (c *corpus) checkSize(context int) error {
	const minTrain, minHeldOut, minVocab = 2000, 200, 20
	switch {
	case len(c.words) < minVocab:
		return fmt.Errorf("corpus %s is too small to train on: %d distinct words "+
			"after -mincount (need at least %d)", c.name, len(c.words), minVocab)
	case len(c.train)-context < minTrain || len(c.heldOut)-context < minHeldOut:
		return fmt.Errorf("corpus %s is too small to train on: %d words "+
			"(need at least %d for training and %d held out)",
			c.name, len(c.train)+len(c.heldOut), minTrain, minHeldOut)
	}
	return nil
}
