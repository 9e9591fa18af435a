#!/bin/sh
# regenerate.sh rebuilds the fastText data that hierarchical_test.go reads:
# it trains a small supervised fastText model with -loss hs on the King James
# Bible (public domain; Debian package bible-kjv-text), labelling each verse
# by its book, and exports what the test needs with fastText's own commands.
# It is a tool, not part of the library. Run it from anywhere:
#
#	sh testdata/fasttext/regenerate.sh
#
# It needs the Debian packages fasttext and bible-kjv (apt-get install
# fasttext bible-kjv) and the POSIX tools awk, shuf (GNU coreutils), yes
# and head. See README.md next to it.
set -eu

out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One verse per line, "__label__<Book> <words>": lower case, letters only.
# bible -l0 prints a "<Book> <chapter>" header before each chapter and
# "  <verse> <text>" for each verse. Every 50th verse is held out.
bible -l0 'gen1:1-rev22:21' | awk -v train="$work/ordered.txt" -v test="$work/test.txt" '
	/^[^ ]/ { book = $1; for (i = 2; i < NF; i++) book = book "_" $i; next }
	/^ +[0-9]+ / {
		sub(/^ +[0-9]+ /, "")
		text = tolower($0)
		gsub(/[^a-z]+/, " ", text)
		gsub(/^ +| +$/, "", text)
		if (++n % 50 == 0) print "__label__" book " " text > test
		else print "__label__" book " " text > train
	}'
cut -d' ' -f2- "$work/test.txt" > "$work/test-text.txt"

# Training in book order on one thread forgets the early books, so the
# training lines are shuffled, with a fixed stream of "random" bytes so
# that the order is the same on every run.
yes | head -c 10000000 > "$work/random"
shuf --random-source="$work/random" "$work/ordered.txt" > "$work/train.txt"

# One thread and a fixed seed make the run reproducible.
fasttext supervised -input "$work/train.txt" -output "$work/model" -loss hs \
	-dim 16 -epoch 15 -lr 0.3 -minCount 1 -thread 1 -seed 1 -verbose 0

# The labels with their counts, in the dictionary's order (descending
# count), which is the order fastText builds its Huffman tree from.
fasttext dump "$work/model.bin" dict | awk '$3 == "label" { print $1, $2 }' > "$out/labels.txt"
# The output matrix: a "rows cols" line, then one row per line.
fasttext dump "$work/model.bin" output > "$out/output.txt"
# The hidden vector of each held-out line, and fastText's five best labels
# for it with their probabilities.
fasttext print-sentence-vectors "$work/model.bin" < "$work/test-text.txt" > "$out/vectors.txt"
fasttext predict-prob "$work/model.bin" "$work/test-text.txt" 5 > "$out/predictions.txt"

# How well the model does on the held-out lines (precision at 1 and recall
# at 5), for README.md.
fasttext test "$work/model.bin" "$work/test.txt" 1 | grep P@1 >&2
fasttext test "$work/model.bin" "$work/test.txt" 5 | grep R@5 >&2
