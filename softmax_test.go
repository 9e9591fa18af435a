package softmax

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// testAPI runs f for float32 and for float64 under every kernel and
// algorithm.
func testAPI(t *testing.T, f32 func(t *testing.T), f64 func(t *testing.T)) {
	t.Run("float32", func(t *testing.T) { forEachKernel(t, f32) })
	t.Run("float64", func(t *testing.T) { forEachKernel(t, f64) })
}

func TestAccuracyEveryLength(t *testing.T) {
	testAPI(t, accuracyEveryLength[float32], accuracyEveryLength[float64])
}

// accuracyEveryLength checks the three vector functions at every length
// 0..300, with logits of small, moderate and large spread.
func accuracyEveryLength[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 300; n++ {
		for _, scale := range []float64{0.1, 3, 40} {
			x := randomLogits[F](rng, n, scale)
			y := make([]F, n)
			what := fmt.Sprintf("scale %g", scale)
			Softmax(y, x)
			checkSoftmax(t, what, y, x)
			LogSoftmax(y, x)
			checkLogSoftmax(t, what, y, x)
			checkLogSumExp(t, what, LogSumExp(x), x)
		}
	}
}

func TestAccuracyLarge(t *testing.T) {
	testAPI(t, accuracyLarge[float32], accuracyLarge[float64])
}

// accuracyLarge checks sizes up to 2^24, where summation error would show.
// Logits of spread 2 keep most outputs normal, so the check has teeth.
func accuracyLarge[F Float](t *testing.T) {
	sizes := []int{1000, 4095, 4096, 4097, 32000, 128256, 1 << 20, 1<<20 + 3, 1 << 24}
	if testing.Short() {
		sizes = sizes[:7]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range sizes {
		x := randomLogits[F](rng, n, 2)
		y := make([]F, n)
		Softmax(y, x)
		checkSoftmax(t, "", y, x)
		LogSoftmax(y, x)
		checkLogSoftmax(t, "", y, x)
		checkLogSumExp(t, "", LogSumExp(x), x)
	}
}

// TestAccuracyExtremes covers the whole exponent range: outputs near the
// smallest normal number, differences near the flush threshold, huge
// magnitudes, and the sum of many equal terms.
func TestAccuracyExtremes(t *testing.T) {
	testAPI(t, accuracyExtremes[float32], accuracyExtremes[float64])
}

func accuracyExtremes[F Float](t *testing.T) {
	big := math.MaxFloat64
	if is32[F]() {
		big = math.MaxFloat32
	}
	edge := math.Log(smallestNormal[F]())
	halfUlpLog := math.Log(0x1p-25) // exp of it is just under half an ulp of 1
	if !is32[F]() {
		halfUlpLog = math.Log(0x1p-54)
	}
	cases := map[string][]F{
		"ramp to the flush threshold": ramp[F](257, 0, edge*1.02),
		"near the flush threshold":    {0, F(edge), F(edge + 0.5), F(edge - 0.5), F(edge * 0.999)},
		"huge equal":                  {F(big), F(big), F(big)},
		"huge opposite":               {F(big), F(-big), 0},
		"huge spread":                 {F(big / 2), F(-big / 2), F(big/2 - 1)},
		"equal":                       slices.Repeat([]F{7}, 1000),
		"one dominant":                append(slices.Repeat([]F{-30}, 999), 30),
		// Terms just under half an ulp of the dominant one: a sum that adds
		// them one by one to the dominant term loses every one of them.
		"dominant among near-ties": append([]F{0}, slices.Repeat([]F{F(halfUlpLog)}, 20000)...),
		"near-ties then dominant":  append(slices.Repeat([]F{F(halfUlpLog)}, 20000), 0),
		"integers":                 ramp[F](300, -150, 150),
	}
	for name, x := range cases {
		y := make([]F, len(x))
		Softmax(y, x)
		checkSoftmax(t, name, y, x)
		LogSoftmax(y, x)
		checkLogSoftmax(t, name, y, x)
		checkLogSumExp(t, name, LogSumExp(x), x)
	}
}

// ramp returns n values evenly spaced from a to b.
func ramp[F Float](n int, a, b float64) []F {
	x := make([]F, n)
	for i := range x {
		x[i] = F(a + (b-a)*float64(i)/float64(n-1))
	}
	return x
}

func TestSpecialValues(t *testing.T) {
	testAPI(t, specialValues[float32], specialValues[float64])
}

// specialValues puts NaN, +Inf and -Inf at every position of vectors of
// several lengths, so that the values land in the vector body and in the
// tail of every kernel, and checks the PyTorch semantics.
func specialValues[F Float](t *testing.T) {
	nan, inf := F(math.NaN()), F(math.Inf(1))
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100, 4097} {
		base := randomLogits[F](rng, n, 5)
		for _, p := range specialPositions(n) {
			for _, special := range []struct {
				name string
				set  func(x []F)
			}{
				{"NaN", func(x []F) { x[p] = nan }},
				{"+Inf", func(x []F) { x[p] = inf }},
				{"-Inf", func(x []F) { x[p] = -inf }},
				{"NaN and +Inf", func(x []F) { x[p] = nan; x[(p+1)%n] = inf }},
				{"+Inf and -Inf", func(x []F) { x[p] = inf; x[(p+1)%n] = -inf }},
				{"all -Inf but one NaN", func(x []F) {
					for i := range x {
						x[i] = -inf
					}
					x[p] = nan
				}},
			} {
				x := slices.Clone(base)
				special.set(x)
				what := fmt.Sprintf("%s at %d", special.name, p)
				y := make([]F, n)
				Softmax(y, x)
				checkSoftmax(t, what, y, x)
				LogSoftmax(y, x)
				checkLogSoftmax(t, what, y, x)
				checkLogSumExp(t, what, LogSumExp(x), x)
			}
		}

		allMasked := slices.Repeat([]F{-inf}, n)
		y := make([]F, n)
		Softmax(y, allMasked)
		checkSoftmax(t, "all -Inf", y, allMasked)
		LogSoftmax(y, allMasked)
		checkLogSoftmax(t, "all -Inf", y, allMasked)
		if got := LogSumExp(allMasked); !math.IsInf(float64(got), -1) {
			t.Errorf("n=%d: LogSumExp(all -Inf) = %g, want -Inf", n, got)
		}
	}

	// Masked entries are exactly 0 and -Inf, not merely small.
	x := []F{1, -inf, 2, -inf}
	y := make([]F, len(x))
	Softmax(y, x)
	if y[1] != 0 || y[3] != 0 {
		t.Errorf("Softmax of masked entries = %g, %g; want exactly 0", y[1], y[3])
	}
	LogSoftmax(y, x)
	if !math.IsInf(float64(y[1]), -1) || !math.IsInf(float64(y[3]), -1) {
		t.Errorf("LogSoftmax of masked entries = %g, %g; want -Inf", y[1], y[3])
	}

	// Empty input: outputs untouched, LogSumExp -Inf.
	Softmax([]F{}, nil)
	LogSoftmax(nil, []F{})
	if got := LogSumExp([]F{}); !math.IsInf(float64(got), -1) {
		t.Errorf("LogSumExp(empty) = %g, want -Inf", got)
	}
}

// specialCase is one entry of testdata/cases/softmax_special.json: PyTorch
// results, with strings standing for NaN and the infinities.
type specialCase struct {
	Input      []jsonFloat `json:"input"`
	Softmax    []jsonFloat `json:"softmax"`
	LogSoftmax []jsonFloat `json:"log_softmax"`
	LogSumExp  jsonFloat   `json:"logsumexp"`
}

// jsonFloat reads a number or one of "NaN", "+Inf", "-Inf".
type jsonFloat float64

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf", "Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("unknown special value %q", s)
		}
		return nil
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = jsonFloat(v)
	return err
}

// TestPyTorchCases checks every case of testdata/cases/softmax_special.json
// (float32 inputs, PyTorch's answers) under every kernel and algorithm.
func TestPyTorchCases(t *testing.T) {
	var file struct {
		Float32 []specialCase `json:"float32"`
	}
	readCases(t, "testdata/cases/softmax_special.json", &file)
	if len(file.Float32) == 0 {
		t.Fatal("no cases read")
	}
	forEachKernel(t, func(t *testing.T) {
		for i, c := range file.Float32 {
			x := make([]float32, len(c.Input))
			for j, v := range c.Input {
				x[j] = float32(v)
			}
			y := make([]float32, len(x))
			Softmax(y, x)
			for j := range y {
				if !softmaxWithin(y[j], float64(c.Softmax[j])) {
					t.Errorf("case %d %v: softmax[%d] = %g, PyTorch %g", i, x, j, y[j], c.Softmax[j])
				}
			}
			LogSoftmax(y, x)
			for j := range y {
				if !logWithin(y[j], float64(c.LogSoftmax[j])) {
					t.Errorf("case %d %v: log_softmax[%d] = %g, PyTorch %g",
						i, x, j, y[j], c.LogSoftmax[j])
				}
			}
			if got := LogSumExp(x); !logWithin(got, float64(c.LogSumExp)) {
				t.Errorf("case %d %v: logsumexp = %g, PyTorch %g", i, x, got, c.LogSumExp)
			}
		}
	})
}

func TestInPlace(t *testing.T) {
	testAPI(t, inPlace[float32], inPlace[float64])
}

// inPlace checks that dst may be src and gives what a separate dst gets.
func inPlace[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 5, 100, 5000} {
		x := randomLogits[F](rng, n, 4)
		want := make([]F, n)
		got := slices.Clone(x)
		Softmax(want, x)
		Softmax(got, got)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: in-place Softmax differs", n)
		}
		got = slices.Clone(x)
		LogSoftmax(want, x)
		LogSoftmax(got, got)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: in-place LogSoftmax differs", n)
		}
		got = slices.Clone(x)
		wantLoss := CrossEntropy(want, x, n/2)
		if loss := CrossEntropy(got, got, n/2); loss != wantLoss || !slices.Equal(got, want) {
			t.Errorf("n=%d: in-place CrossEntropy differs", n)
		}
	}
}

func TestCrossEntropy(t *testing.T) {
	testAPI(t, crossEntropy[float32], crossEntropy[float64])
}

// crossEntropy checks the loss against -LogSoftmax and the gradient
// against Softmax minus the one-hot target.
func crossEntropy[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 3, 10, 257, 32000} {
		x := randomLogits[F](rng, n, 3)
		target := rng.IntN(n)
		grad := make([]F, n)
		loss := CrossEntropy(grad, x, target)
		if want := -refLogSoftmax(x)[target]; !logWithin(loss, want) {
			t.Errorf("n=%d: loss %g, want %g", n, loss, want)
		}
		if lossOnly := CrossEntropy(nil, x, target); !logWithin(lossOnly, float64(loss)) {
			t.Errorf("n=%d: loss without gradient %g, with %g", n, lossOnly, loss)
		}
		want := refSoftmax(x)
		want[target]--
		for i := range grad {
			if math.Abs(float64(grad[i])-want[i]) > tolerance[F]()*max(1e-30, math.Abs(want[i]))+
				tolerance[F]()*boolTo(i == target) {
				t.Errorf("n=%d: grad[%d] = %g, want %g", n, i, grad[i], want[i])
			}
		}
	}

	// Special values follow LogSoftmax.
	inf := F(math.Inf(1))
	grad := make([]F, 3)
	if loss := CrossEntropy(grad, []F{1, -inf, 2}, 1); !math.IsInf(float64(loss), 1) {
		t.Errorf("masked target: loss %g, want +Inf", loss)
	}
	for _, x := range [][]F{{1, inf, 2}, {1, F(math.NaN()), 2}, {-inf, -inf, -inf}} {
		loss := CrossEntropy(grad, x, 0)
		if loss == loss {
			t.Errorf("%v: loss %g, want NaN", x, loss)
		}
		for i, g := range grad {
			if g == g {
				t.Errorf("%v: grad[%d] = %g, want NaN", x, i, g)
			}
		}
	}
}

func boolTo(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestCrossEntropyFiniteDifferences checks the float64 gradient against
// central differences of the loss.
func TestCrossEntropyFiniteDifferences(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range []int{2, 7, 64, 1000} {
			x := randomLogits[float64](rng, n, 2)
			target := rng.IntN(n)
			grad := make([]float64, n)
			CrossEntropy(grad, x, target)
			const h = 1e-5
			for _, i := range []int{0, target, n / 2, n - 1} {
				xp, xm := slices.Clone(x), slices.Clone(x)
				xp[i] += h
				xm[i] -= h
				fd := (CrossEntropy(nil, xp, target) - CrossEntropy(nil, xm, target)) / (2 * h)
				if math.Abs(fd-grad[i]) > 1e-7 {
					t.Errorf("n=%d: grad[%d] = %g, finite difference %g", n, i, grad[i], fd)
				}
			}
		}
	})
}

func TestPartialMerge(t *testing.T) {
	testAPI(t, partialMerge[float32], partialMerge[float64])
}

// partialMerge splits vectors into random shards, merges their Partials in
// a random order and grouping, and checks the result against the whole
// vector's LogSumExp, Softmax and LogSoftmax.
func partialMerge[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(5000)
		x := randomLogits[F](rng, n, 1+rng.Float64()*20)
		if trial%10 == 0 {
			for i := 0; i < n/3; i++ {
				x[rng.IntN(n)] = F(math.Inf(-1))
			}
		}
		cuts := []int{0, n}
		for range rng.IntN(8) {
			cuts = append(cuts, rng.IntN(n+1))
		}
		slices.Sort(cuts)
		parts := make([]Partial[F], 0, len(cuts)-1)
		for i := 1; i < len(cuts); i++ {
			parts = append(parts, PartialOf(x[cuts[i-1]:cuts[i]]))
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 {
			i := rng.IntN(len(parts) - 1)
			parts[i] = parts[i].Merge(parts[i+1])
			parts = slices.Delete(parts, i+1, i+2)
		}
		whole := parts[0]
		checkLogSumExp(t, "merged", whole.LogSumExp(), x)

		y := make([]F, n)
		for i := 1; i < len(cuts); i++ {
			whole.Softmax(y[cuts[i-1]:cuts[i]], x[cuts[i-1]:cuts[i]])
		}
		checkSoftmax(t, "sharded", y, x)
		for i := 1; i < len(cuts); i++ {
			whole.LogSoftmax(y[cuts[i-1]:cuts[i]], x[cuts[i-1]:cuts[i]])
		}
		checkLogSoftmax(t, "sharded", y, x)
	}

	// Special shards.
	nan, inf := F(math.NaN()), F(math.Inf(1))
	empty := PartialOf[F](nil)
	finite := PartialOf([]F{1, 2})
	cases := []struct {
		name  string
		p     Partial[F]
		wantL float64
	}{
		{"empty", empty, math.Inf(-1)},
		{"empty+empty", empty.Merge(empty), math.Inf(-1)},
		{"empty+finite", empty.Merge(finite), refLogSumExp([]F{1, 2})},
		{"masked+finite", PartialOf([]F{-inf}).Merge(finite), refLogSumExp([]F{1, 2})},
		{"+Inf+finite", PartialOf([]F{inf}).Merge(finite), math.Inf(1)},
		{"finite+NaN", finite.Merge(PartialOf([]F{nan})), math.NaN()},
		{"NaN+(+Inf)", PartialOf([]F{nan}).Merge(PartialOf([]F{inf})), math.NaN()},
		{"-Inf+(-Inf)", PartialOf([]F{-inf}).Merge(PartialOf([]F{-inf, -inf})), math.Inf(-1)},
	}
	for _, c := range cases {
		if got := c.p.LogSumExp(); !logWithin(got, c.wantL) {
			t.Errorf("%s: LogSumExp %g, want %g", c.name, got, c.wantL)
		}
	}
}

func TestRows(t *testing.T) {
	testAPI(t, rowsMatchVectors[float32], rowsMatchVectors[float64])
}

// rowsMatchVectors checks each row-wise form against the vector form on
// every row, with padding between rows that must stay untouched.
func rowsMatchVectors[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const sentinel = -12345
	for _, shape := range [][3]int{{0, 5, 5}, {1, 0, 0}, {1, 7, 7}, {3, 10, 10}, {4, 33, 40}, {5, 1, 3}} {
		rows, cols, stride := shape[0], shape[1], shape[2]
		size := 0
		if rows > 0 {
			size = (rows-1)*stride + cols
		}
		src := randomLogits[F](rng, size, 3)
		for r := 0; r < rows; r++ {
			for c := cols; c < stride && r*stride+c < size; c++ {
				src[r*stride+c] = sentinel
			}
		}
		targets := make([]int, rows)
		for r := range targets {
			if cols > 0 {
				targets[r] = rng.IntN(cols)
			}
		}

		for _, op := range []struct {
			name string
			rows func(dst, src []F)
			vec  func(dst, src []F)
		}{
			{"Softmax", func(d, s []F) { SoftmaxRows(d, s, rows, cols, stride) }, Softmax[F]},
			{"LogSoftmax", func(d, s []F) { LogSoftmaxRows(d, s, rows, cols, stride) }, LogSoftmax[F]},
		} {
			dst := slices.Clone(src)
			op.rows(dst, src)
			want := make([]F, cols)
			for r := 0; r < rows; r++ {
				op.vec(want, src[r*stride:r*stride+cols])
				if got := dst[r*stride : r*stride+cols]; !slices.Equal(got, want) {
					t.Errorf("%s %v: row %d differs", op.name, shape, r)
				}
				for c := cols; c < stride && r*stride+c < size; c++ {
					if dst[r*stride+c] != sentinel {
						t.Errorf("%s %v: padding overwritten", op.name, shape)
					}
				}
			}
			inPlace := slices.Clone(src)
			op.rows(inPlace, inPlace)
			if !slices.Equal(inPlace, dst) {
				t.Errorf("%s %v: in-place rows differ", op.name, shape)
			}
		}

		lse := make([]F, rows)
		LogSumExpRows(lse, src, rows, cols, stride)
		for r := range lse {
			if want := LogSumExp(src[r*stride : r*stride+cols]); lse[r] != want {
				t.Errorf("LogSumExpRows %v: row %d = %g, want %g", shape, r, lse[r], want)
			}
		}

		if cols > 0 {
			grad := slices.Clone(src)
			loss := CrossEntropyRows(grad, src, targets, cols, stride)
			var want float64
			g := make([]F, cols)
			for r, tg := range targets {
				want += float64(CrossEntropy(g, src[r*stride:r*stride+cols], tg))
				if !slices.Equal(g, grad[r*stride:r*stride+cols]) {
					t.Errorf("CrossEntropyRows %v: row %d gradient differs", shape, r)
				}
			}
			if math.Abs(float64(loss)-want) > tolerance[F]()*math.Abs(want) {
				t.Errorf("CrossEntropyRows %v: loss %g, want %g", shape, loss, want)
			}
			if l := CrossEntropyRows(nil, src, targets, cols, stride); !logWithin(l, float64(loss)) {
				t.Errorf("CrossEntropyRows %v: loss without gradient %g, with %g", shape, l, loss)
			}
		}
	}
}

// TestDense checks the mat.Dense forms against the vector forms, on a view
// whose stride exceeds its width and with dst distinct from and equal to
// src.
func TestDense(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		whole := mat.NewDense(4, 7, randomLogits[float64](rng, 28, 3))
		src := whole.Slice(0, 4, 1, 6).(*mat.Dense) // 4×5, stride 7
		rows, cols := src.Dims()
		for _, op := range []struct {
			name  string
			dense func(dst, src *mat.Dense)
			vec   func(dst, src []float64)
		}{
			{"SoftmaxDense", SoftmaxDense, Softmax[float64]},
			{"LogSoftmaxDense", LogSoftmaxDense, LogSoftmax[float64]},
		} {
			dst := mat.NewDense(rows, cols, nil)
			op.dense(dst, src)
			want := make([]float64, cols)
			for r := range rows {
				op.vec(want, mat.Row(nil, r, src))
				if got := mat.Row(nil, r, dst); !slices.Equal(got, want) {
					t.Errorf("%s: row %d = %v, want %v", op.name, r, got, want)
				}
			}
			inPlace := mat.DenseCopyOf(src)
			op.dense(inPlace, inPlace)
			if !mat.Equal(inPlace, dst) {
				t.Errorf("%s: in place differs", op.name)
			}
		}

		lse := make([]float64, rows)
		LogSumExpDense(lse, src)
		targets := []int{0, 4, 2, 1}
		grad := mat.NewDense(rows, cols, nil)
		loss := CrossEntropyDense(grad, src, targets)
		var wantLoss float64
		g := make([]float64, cols)
		for r := range rows {
			row := mat.Row(nil, r, src)
			if want := LogSumExp(row); lse[r] != want {
				t.Errorf("LogSumExpDense: row %d = %g, want %g", r, lse[r], want)
			}
			wantLoss += CrossEntropy(g, row, targets[r])
			if got := mat.Row(nil, r, grad); !slices.Equal(got, g) {
				t.Errorf("CrossEntropyDense: row %d gradient %v, want %v", r, got, g)
			}
		}
		if math.Abs(loss-wantLoss) > 1e-14*wantLoss {
			t.Errorf("CrossEntropyDense: loss %g, want %g", loss, wantLoss)
		}
		if l := CrossEntropyDense(nil, src, targets); math.Abs(l-loss) > 1e-14*loss {
			t.Errorf("CrossEntropyDense without gradient: %g, want %g", l, loss)
		}
		assertPanics(t, "SoftmaxDense", func() { SoftmaxDense(mat.NewDense(2, 2, nil), src) })
		assertPanics(t, "LogSumExpDense", func() { LogSumExpDense(make([]float64, 3), src) })
		assertPanics(t, "CrossEntropyDense", func() { CrossEntropyDense(nil, src, []int{0}) })
		assertPanics(t, "CrossEntropyDense", func() { CrossEntropyDense(nil, src, []int{0, 5, 0, 0}) })
	})
}

func TestPanics(t *testing.T) {
	x3, x4 := make([]float32, 3), make([]float32, 4)
	assertPanics(t, "Softmax", func() { Softmax(x3, x4) })
	assertPanics(t, "LogSoftmax", func() { LogSoftmax(x4, x3) })
	assertPanics(t, "CrossEntropy", func() { CrossEntropy(nil, x3, 3) })
	assertPanics(t, "CrossEntropy", func() { CrossEntropy(nil, x3, -1) })
	assertPanics(t, "CrossEntropy", func() { CrossEntropy(x4, x3, 0) })
	assertPanics(t, "CrossEntropy", func() { CrossEntropy[float32](nil, nil, 0) })
	assertPanics(t, "SoftmaxRows", func() { SoftmaxRows(x4, x4, 2, 2, 3) })
	assertPanics(t, "SoftmaxRows", func() { SoftmaxRows(x4, x4, 2, 3, 2) })
	assertPanics(t, "LogSoftmaxRows", func() { LogSoftmaxRows(x3, x4, 2, 2, 2) })
	assertPanics(t, "LogSumExpRows", func() { LogSumExpRows(x3, x4, 2, 2, 2) })
	assertPanics(t, "CrossEntropyRows", func() { CrossEntropyRows(nil, x4, []int{0, 2}, 2, 2) })
	assertPanics(t, "CrossEntropyRows", func() { CrossEntropyRows(x3, x4, []int{0, 1}, 2, 2) })
	assertPanics(t, "Partial.Softmax", func() { PartialOf(x3).Softmax(x3, x4) })
	assertPanics(t, "Partial.LogSoftmax", func() { PartialOf(x3).LogSoftmax(x4, x3) })
}

// TestZeroAllocations shows that no entry point allocates in steady state.
func TestZeroAllocations(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		x32 := randomLogits[float32](rand.New(rand.NewPCG(1, 1)), 50000, 3)
		x64 := randomLogits[float64](rand.New(rand.NewPCG(1, 1)), 50000, 3)
		y32, y64 := make([]float32, len(x32)), make([]float64, len(x64))
		p32 := PartialOf(x32)
		lse32 := make([]float32, 10)
		targets := make([]int, 10)
		for name, f := range map[string]func(){
			"Softmax":          func() { Softmax(y32, x32); Softmax(y64, x64) },
			"LogSoftmax":       func() { LogSoftmax(y32, x32); LogSoftmax(y64, x64) },
			"LogSumExp":        func() { LogSumExp(x32); LogSumExp(x64) },
			"CrossEntropy":     func() { CrossEntropy(y32, x32, 5); CrossEntropy(nil, x64, 5) },
			"SoftmaxRows":      func() { SoftmaxRows(y32, x32, 10, 5000, 5000) },
			"LogSumExpRows":    func() { LogSumExpRows(lse32, x32, 10, 5000, 5000) },
			"CrossEntropyRows": func() { CrossEntropyRows(y32, x32, targets, 5000, 5000) },
			"Partial":          func() { p32.Merge(PartialOf(x32)).Softmax(y32, x32) },
			"special values":   func() { x32[7] = float32(math.NaN()); Softmax(y32, x32); x32[7] = 0 },
		} {
			if a := testing.AllocsPerRun(5, f); a != 0 {
				t.Errorf("%s: %v allocations per run, want 0", name, a)
			}
		}
	})
}
