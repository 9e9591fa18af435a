// Command benchtable turns `go test -bench` output of benchmarks named
// <Benchmark>/<type>/<kernel>/<n> into a Markdown table: one row per n, one
// column of ns per element per kernel, and each kernel's speedup over the
// first kernel (the baseline). With -count > 1 in the benchmark run, the
// median of the repetitions is used.
//
// Usage:
//
//	go test -run '^$' -bench 'Softmax$' . | (cd _tools && go run ./benchtable -bench Softmax -type float32)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	bench := flag.String("bench", "Softmax", "benchmark name without the Benchmark prefix")
	typ := flag.String("type", "float32", "element type")
	kernels := flag.String("kernels", "", "comma-separated kernels in column order; the first "+
		"is the baseline (default: in order of appearance)")
	flag.Parse()

	line := regexp.MustCompile(`^Benchmark` + regexp.QuoteMeta(*bench) +
		`/` + regexp.QuoteMeta(*typ) + `/([^/]+)/(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	samples := map[string]map[int][]float64{}
	var order []string
	var sizes []int
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		kernel := m[1]
		n, _ := strconv.Atoi(m[2])
		ns, _ := strconv.ParseFloat(m[3], 64)
		if samples[kernel] == nil {
			samples[kernel] = map[int][]float64{}
			order = append(order, kernel)
		}
		samples[kernel][n] = append(samples[kernel][n], ns/float64(n))
		if !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	if *kernels != "" {
		order = strings.Split(*kernels, ",")
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no matching benchmark lines")
		os.Exit(1)
	}
	slices.Sort(sizes)

	header := []string{"n"}
	for _, k := range order {
		header = append(header, k+" ns/elem")
	}
	for _, k := range order[1:] {
		header = append(header, k+" speedup")
	}
	fmt.Println("| " + strings.Join(header, " | ") + " |")
	fmt.Println("|" + strings.Repeat(" ---: |", len(header)))
	for _, n := range sizes {
		row := []string{strconv.Itoa(n)}
		for _, k := range order {
			row = append(row, format(median(samples[k][n]), "%.3f"))
		}
		base := median(samples[order[0]][n])
		for _, k := range order[1:] {
			row = append(row, format(base/median(samples[k][n]), "%.1fx"))
		}
		fmt.Println("| " + strings.Join(row, " | ") + " |")
	}
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	x = slices.Clone(x)
	slices.Sort(x)
	if len(x)%2 == 1 {
		return x[len(x)/2]
	}
	return (x[len(x)/2-1] + x[len(x)/2]) / 2
}

func format(v float64, f string) string {
	if v == 0 || v != v || v > 1e300 {
		return "–"
	}
	return fmt.Sprintf(f, v)
}
