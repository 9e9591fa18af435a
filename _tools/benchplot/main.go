// Command benchplot draws the softmax benchmark chart: nanoseconds per
// element against the vector length, one line per kernel, from the output
// of `go test -bench`, with the C roofline of ../shared/roofline beside
// them.
//
// The benchmark names are Benchmark<Op>/<type>/<kernel>/<n> (bench_test.go);
// the roofline file is the output of ../shared/roofline/run (lines of
// "n ns/elem ..."). For example, from the repository root:
//
//	go test -run '^$' -bench 'Softmax$/float32/' -benchtime 0.2s -count 3 > /tmp/bench.txt
//	../shared/roofline/run 1000 4096 32000 128256 1048576 16777216 > /tmp/roofline.txt
//	cd _tools && go run ./benchplot -bench /tmp/bench.txt -roofline /tmp/roofline.txt \
//		-op Softmax -type float32 -o ../docs/softmax-float32-amd64.png
//
// With -count above 1 the fastest run of each benchmark is plotted.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func main() {
	benchFile := flag.String("bench", "-", "go test -bench output (- for standard input)")
	rooflineFile := flag.String("roofline", "", "output of ../shared/roofline/run (optional)")
	op := flag.String("op", "Softmax", "benchmark to plot: Softmax, LogSoftmax, LogSumExp, ...")
	typ := flag.String("type", "float32", "element type: float32 or float64")
	out := flag.String("o", "softmax.png", "output image (.png or .svg)")
	skip := flag.String("skip", "", "comma-separated kernels to leave out (e.g. naive)")
	flag.Parse()

	in, err := open(*benchFile)
	if err != nil {
		log.Fatal(err)
	}
	series, err := parseBench(in, *op, *typ)
	in.Close()
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range strings.Split(*skip, ",") {
		delete(series, k)
	}
	if len(series) == 0 {
		log.Fatalf("no Benchmark%s/%s/... lines in %s", *op, *typ, *benchFile)
	}
	if *rooflineFile != "" {
		f, err := os.Open(*rooflineFile)
		if err != nil {
			log.Fatal(err)
		}
		series["roofline (C)"], err = parseRoofline(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s, amd64: time per element", *op, *typ)
	p.X.Label.Text = "n (elements)"
	p.Y.Label.Text = "ns per element"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())

	names := make([]string, 0, len(series))
	for name := range series {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return order(a) - order(b) })
	for i, name := range names {
		line, points, err := plotter.NewLinePoints(series[name])
		if err != nil {
			log.Fatal(err)
		}
		c := palette[i%len(palette)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		if name == "roofline (C)" {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			line.Color, points.Color = color.Black, color.Black
		}
		p.Add(line, points)
		p.Legend.Add(name, line, points)
	}
	// Room above the lines for the legend.
	p.Y.Max *= 6
	if err := p.Save(16*vg.Centimeter, 11*vg.Centimeter, *out); err != nil {
		log.Fatal(err)
	}
}

func open(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(name)
}

// parseBench returns, per kernel, the fastest ns per element at each n of
// the benchmark lines Benchmark<op>/<typ>/<kernel>/<n>[-procs].
func parseBench(r io.Reader, op, typ string) (map[string]plotter.XYs, error) {
	best := map[string]map[int]float64{}
	sc := bufio.NewScanner(r)
	prefix := "Benchmark" + op + "/" + typ + "/"
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], prefix) || fields[3] != "ns/op" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(fields[0], prefix), "-")
		kernel, size, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(size)
		if err != nil {
			return nil, fmt.Errorf("%s: bad size: %v", fields[0], err)
		}
		ns, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad time: %v", fields[0], err)
		}
		if best[kernel] == nil {
			best[kernel] = map[int]float64{}
		}
		if v, ok := best[kernel][n]; !ok || ns/float64(n) < v {
			best[kernel][n] = ns / float64(n)
		}
	}
	series := map[string]plotter.XYs{}
	for kernel, m := range best {
		series[kernel] = sorted(m)
	}
	return series, sc.Err()
}

// parseRoofline reads the roofline program's table: "n ns/elem ...".
func parseRoofline(r io.Reader) (plotter.XYs, error) {
	m := map[int]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		n, err1 := strconv.Atoi(fields[0])
		ns, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil {
			continue // the header
		}
		if v, ok := m[n]; !ok || ns < v {
			m[n] = ns
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no roofline rows")
	}
	return sorted(m), sc.Err()
}

func sorted(m map[int]float64) plotter.XYs {
	var xys plotter.XYs
	for n, v := range m {
		xys = append(xys, plotter.XY{X: float64(n), Y: v})
	}
	slices.SortFunc(xys, func(a, b plotter.XY) int { return int(math.Copysign(1, a.X-b.X)) })
	return xys
}

// order lists the kernels from slowest to fastest, then the roofline.
func order(name string) int {
	i := slices.Index([]string{"naive", "generic", "neon", "avx2", "avx512", "roofline (C)"}, name)
	if i < 0 {
		return 100
	}
	return i
}

var palette = []color.Color{
	color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff},
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}
