#!/bin/sh
# roofline.sh compares float32 Softmax under one kernel (avx512 unless
# KERNEL says otherwise) with the C roofline of ../shared/roofline, side by
# side: for each size it alternates the two programs, ROUNDS times, and
# keeps the best ns per element of each (the roofline itself reports the
# best of five timings). Run it from anywhere; it prints a Markdown table.
#
#	_tools/roofline.sh                  # 3 rounds, the sizes of the issue
#	ROUNDS=5 _tools/roofline.sh 4096 32000
#
# ROOFLINE overrides the path of the roofline's run script.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
roofline=${ROOFLINE:-$root/../shared/roofline/run}
[ -x "$roofline" ] || roofline=/work/shared/roofline/run
kernel=${KERNEL:-avx512}
rounds=${ROUNDS:-3}
sizes=${*:-4096 32000 128256 1048576 16777216}

# iters runs each Go measurement for about 5 ms of work, short enough to
# fit between the scheduler's preemptions on a shared machine; the best of
# several counts is kept.
iters() { echo "$1" | awk '{ i = int(2e7 / $1); print (i < 5) ? 5 : i }'; }
min() { echo "$1 $2" | awk '{ print ($1 < $2) ? $1 : $2 }'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go test -c -o "$tmp/softmax.test" .)
"$roofline" 64 >/dev/null # builds the C program once

echo "| n | Go $kernel ns/elem | roofline ns/elem | ratio |"
echo "| ---: | ---: | ---: | ---: |"
for n in $sizes; do
	best_go= best_c=
	i=0
	while [ "$i" -lt "$rounds" ]; do
		c=$("$roofline" "$n" | awk 'NR == 2 { print $2 }')
		go=$(cd "$root" && "$tmp/softmax.test" -test.run '^$' \
			-test.bench "^BenchmarkSoftmax\$/^float32\$/^$kernel\$/^$n\$" \
			-test.benchtime "$(iters "$n")x" -test.count 5 |
			awk -v n="$n" '/ns\/op/ { v = $3 / n; if (b == "" || v < b) b = v } END { print b }')
		best_c=$(min "$c" "${best_c:-$c}")
		best_go=$(min "$go" "${best_go:-$go}")
		i=$((i + 1))
	done
	echo "$n $best_go $best_c" | awk '{ printf "| %d | %.3f | %.3f | %.2fx |\n", $1, $2, $3, $2 / $3 }'
done
