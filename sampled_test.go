package softmax

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// testSamplers returns one sampler of each kind over n classes; the
// unigram counts are Zipfian with noise, in shuffled order, so that the
// alias table sees small and large classes everywhere.
func testSamplers(t *testing.T, n int) map[string]Sampler {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	counts := make([]float64, n)
	for i := range counts {
		counts[i] = math.Floor(1e6/math.Pow(float64(i+1), 1.1)*(0.5+rng.Float64())) + 1
	}
	rng.Shuffle(n, func(i, j int) { counts[i], counts[j] = counts[j], counts[i] })

	u, err := NewUniformSampler(n)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLogUniformSampler(n)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewUnigramSampler(counts, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Sampler{"uniform": u, "loguniform": l, "unigram": g}
}

// chiSquareP returns the p-value of the chi-square goodness-of-fit test of
// the observed counts of draws draws against the probabilities prob, and
// the number of bins. Adjacent classes are pooled until each bin expects
// at least 5 draws, the usual condition for the test to hold.
func chiSquareP(observed []int, prob []float64, draws int) (p float64, bins int) {
	var exp, obs []float64
	var e, o float64
	for c := range prob {
		e += prob[c] * float64(draws)
		o += float64(observed[c])
		if e >= 5 {
			exp, obs = append(exp, e), append(obs, o)
			e, o = 0, 0
		}
	}
	if len(exp) == 0 {
		exp, obs = append(exp, 0), append(obs, 0)
	}
	exp[len(exp)-1] += e
	obs[len(obs)-1] += o

	var stat float64
	for i := range exp {
		stat += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i]
	}
	if len(exp) == 1 {
		return 1, 1
	}
	return distuv.ChiSquared{K: float64(len(exp) - 1)}.Survival(stat), len(exp)
}

func probsOf(s Sampler) []float64 {
	p := make([]float64, s.NumClasses())
	for c := range p {
		p[c] = s.Prob(c)
	}
	return p
}

// TestSamplerChiSquare draws 10^6 classes from each sampler and tests the
// counts against Prob. So that the test is known to have teeth, the same
// counts must fail against a distribution that differs a little.
func TestSamplerChiSquare(t *testing.T) {
	const draws = 1_000_000
	for _, n := range []int{1000, 100_000} {
		for name, s := range testSamplers(t, n) {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				src := rand.NewPCG(uint64(n), 99)
				observed := make([]int, n)
				for range draws {
					observed[s.Draw(src)]++
				}
				prob := probsOf(s)
				p, bins := chiSquareP(observed, prob, draws)
				if p < 1e-6 || bins < 100 {
					t.Errorf("chi-square p-value %g over %d bins; want above 1e-6 over at "+
						"least 100", p, bins)
				}

				// A distribution tilted by 30% from the first class to the
				// last, in proportion to the cumulative probability.
				tilted := make([]float64, n)
				var sum, cdf float64
				for c := range tilted {
					cdf += prob[c]
					tilted[c] = prob[c] * (1 + 0.3*(cdf-0.5))
					sum += tilted[c]
				}
				for c := range tilted {
					tilted[c] /= sum
				}
				if p, _ := chiSquareP(observed, tilted, draws); p > 1e-6 {
					t.Errorf("the draws pass against a tilted distribution: p-value %g", p)
				}
			})
		}
	}
}

// TestSamplerSmall covers samplers with one and two classes.
func TestSamplerSmall(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		for name, s := range testSamplers(t, n) {
			src := rand.NewPCG(1, 2)
			counts := make([]int, n)
			const draws = 100_000
			for range draws {
				c := s.Draw(src)
				if c < 0 || c >= n {
					t.Fatalf("%s/%d: drew %d", name, n, c)
				}
				counts[c]++
			}
			if p, _ := chiSquareP(counts, probsOf(s), draws); p < 1e-6 {
				t.Errorf("%s/%d: chi-square p-value %g", name, n, p)
			}
			if s.Prob(-1) != 0 || s.Prob(n) != 0 {
				t.Errorf("%s/%d: Prob out of range = %g, %g; want 0", name, n,
					s.Prob(-1), s.Prob(n))
			}
		}
	}
}

func TestSamplerProbSums(t *testing.T) {
	for _, n := range []int{1, 2, 3, 1000, 100_000} {
		for name, s := range testSamplers(t, n) {
			var sum neumaier
			for c := range n {
				p := s.Prob(c)
				if !(p > 0 && p <= 1) {
					t.Fatalf("%s/%d: Prob(%d) = %g", name, n, c, p)
				}
				sum.add(p)
			}
			if got := sum.total(); math.Abs(got-1) > 1e-13 {
				t.Errorf("%s/%d: probabilities sum to 1%+g", name, n, got-1)
			}
		}
	}
}

// TestLogUniformProb checks the log-uniform probabilities against
// log((k+2)/(k+1)) / log(n+1), computed directly where the ratio is far
// from 1 and by the series of log(1+x), x = 1/(k+1), where it is near,
// and that they fall with k.
func TestLogUniformProb(t *testing.T) {
	const n = 1_000_000
	s, err := NewLogUniformSampler(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 2, 9, 10, 999, 12345, n - 2, n - 1} {
		logRatio := math.Log(float64(k+2) / float64(k+1))
		if k >= 10 {
			x, term := 1/float64(k+1), 1.0
			logRatio = 0
			for j := 1; j <= 30; j++ {
				term *= x
				logRatio += math.Copysign(term/float64(j), float64(j%2)-0.5)
			}
		}
		want := logRatio / math.Log(n+1)
		if got := s.Prob(k); math.Abs(got-want) > 1e-14*want {
			t.Errorf("Prob(%d) = %g, want %g", k, got, want)
		}
		if k > 0 && s.Prob(k) >= s.Prob(k-1) {
			t.Errorf("Prob(%d) = %g is not below Prob(%d) = %g", k, s.Prob(k), k-1, s.Prob(k-1))
		}
	}
}

// TestUnigramAliasExact reconstructs the probability of each class from
// the alias table and compares it with Prob, which is counts^power over
// their sum: the table itself is exact, not merely close enough to pass a
// chi-square test.
func TestUnigramAliasExact(t *testing.T) {
	for _, n := range []int{1, 2, 5, 1000, 100_000} {
		s := testSamplers(t, n)["unigram"].(*UnigramSampler)
		got := make([]float64, n)
		mask := uint64(1)<<s.aliasBits - 1
		for i, b := range s.table {
			keep, alias := float64(b&^mask)*0x1p-64, int(b&mask)
			if alias == i {
				keep = 1
			}
			got[i] += keep / float64(n)
			got[alias] += (1 - keep) / float64(n)
		}
		// Each split is quantized to 2^-(64-aliasBits) of a bucket. The
		// probabilities sum to 1 only up to rounding, and the n rounded
		// scaled probabilities to n up to n/2 ulp of 1; the last classes
		// placed absorb the difference, less than 2.2e-16 in all.
		quantum := math.Ldexp(1, int(s.aliasBits)-64) / float64(n)
		for c := range got {
			if want := s.Prob(c); math.Abs(got[c]-want) > 1e-12*want+quantum+2.2e-16 {
				t.Errorf("n=%d: class %d: alias table gives %g, Prob %g", n, c, got[c], want)
			}
		}
	}

	// counts^power over the sum, from a direct computation.
	counts := []float64{3, 1e9, 7, 1, 250}
	s, err := NewUnigramSampler(counts, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, c := range counts {
		sum += math.Pow(c, 0.75)
	}
	for i, c := range counts {
		if want := math.Pow(c, 0.75) / sum; math.Abs(s.Prob(i)-want) > 1e-14*want {
			t.Errorf("Prob(%d) = %g, want %g", i, s.Prob(i), want)
		}
	}
}

// refExpectedCount computes 1 - (1-p)^tries in 2000-bit arithmetic, enough
// to hold 1-p exactly for any p down to 1e-300.
func refExpectedCount(p float64, tries int) float64 {
	const prec = 2000
	q := new(big.Float).SetPrec(prec).Sub(big.NewFloat(1), big.NewFloat(p))
	pow := new(big.Float).SetPrec(prec).SetInt64(1)
	for e := tries; e > 0; e >>= 1 {
		if e&1 == 1 {
			pow.Mul(pow, q)
		}
		q.Mul(q, q)
	}
	r, _ := new(big.Float).SetPrec(prec).Sub(big.NewFloat(1), pow).Float64()
	return r
}

func TestExpectedCount(t *testing.T) {
	for _, p := range []float64{0, 1e-300, 1e-20, 1e-9, 1e-6, 0.001, 0.06, 0.5, 0.999, 1} {
		for _, tries := range []int{0, 1, 2, 64, 65, 1000, 123457} {
			if got, want := ExpectedCount(p, tries, false), p*float64(tries); got != want {
				t.Errorf("ExpectedCount(%g, %d, with replacement) = %g, want %g",
					p, tries, got, want)
			}
			got, want := ExpectedCount(p, tries, true), refExpectedCount(p, tries)
			if math.Abs(got-want) > 1e-14*want {
				t.Errorf("ExpectedCount(%g, %d, distinct) = %g, want %g", p, tries, got, want)
			}
		}
	}

	// The naive formula loses a tiny p entirely; this one keeps it.
	if got := ExpectedCount(1e-20, 64, true); got != 64e-20 && math.Abs(got-64e-20) > 1e-34 {
		t.Errorf("ExpectedCount(1e-20, 64, distinct) = %g, want 6.4e-19", got)
	}
}

// TestSampleExpectedCounts checks the expected counts that Sample reports,
// with and without replacement, against the formulas, for the sampled
// classes (through Sampled) and for the true classes (through the
// correction of their logits).
func TestSampleExpectedCounts(t *testing.T) {
	const n, d, k = 2000, 3, 64
	for name, sampler := range testSamplers(t, n) {
		for _, withRepl := range []bool{false, true} {
			s, err := NewSampledSoftmax[float64](SampledConfig{
				Dim: d, Sampler: sampler, NumSampled: k, WithReplacement: withRepl})
			if err != nil {
				t.Fatal(err)
			}
			src := rand.NewPCG(3, 4)
			for range 20 {
				tries := s.Sample(src)
				classes, expected := s.Sampled()
				if withRepl && tries != k || !withRepl && tries < k {
					t.Fatalf("%s: %d tries for %d samples", name, tries, k)
				}
				if !withRepl && len(distinct(classes)) != k {
					t.Fatalf("%s: sample %v is not distinct", name, classes)
				}
				for j, c := range classes {
					p := sampler.Prob(c)
					want := p * k
					if !withRepl {
						want = refExpectedCount(p, tries)
					}
					if math.Abs(expected[j]-want) > 1e-14*want {
						t.Errorf("%s replacement=%v: class %d (p %g, %d tries): expected "+
							"count %g, want %g", name, withRepl, c, p, tries, expected[j], want)
					}
				}

				// With zero weights, a true logit is -log Q of its class.
				labels := []int{0, n - 1, n / 3}
				w := make([]float64, n*d)
				s.Loss(nil, nil, make([]float64, len(labels)*d), labels, w, nil)
				for i, c := range labels {
					p := sampler.Prob(c)
					want := p * k
					if !withRepl {
						want = refExpectedCount(p, tries)
					}
					got := math.Exp(-s.Logits(i)[0])
					if math.Abs(got-want) > 1e-13*want {
						t.Errorf("%s replacement=%v: true class %d: expected count %g, want %g",
							name, withRepl, c, got, want)
					}
				}
			}
		}
	}
}

func distinct(x []int) []int {
	y := slices.Clone(x)
	slices.Sort(y)
	return slices.Compact(y)
}

// TestDistinctSampleDistribution checks that a distinct sample has the
// distribution of drawing with replacement and rejecting repeats, by
// whichever path Sample takes: rejection only, the exponential race from
// the start, or the race after the first rejection. The ordered samples
// are tested against their exact probabilities, and the mean number of
// draws against its exact expectation.
func TestDistinctSampleDistribution(t *testing.T) {
	counts := []float64{10, 5, 3, 1, 1}
	sampler, err := NewUnigramSampler(counts, 1)
	if err != nil {
		t.Fatal(err)
	}
	const k, sets = 3, 200_000
	n := len(counts)
	p := probsOf(sampler)

	// Exact probabilities of the ordered samples, and the mean and
	// variance of the number of draws.
	index := func(a, b, c int) int { return (a*n+b)*n + c }
	exact := make([]float64, n*n*n)
	var meanTries, meanSq float64
	for a := range n {
		for b := range n {
			for c := range n {
				if a == b || b == c || a == c {
					continue
				}
				pr := p[a] * p[b] / (1 - p[a]) * p[c] / (1 - p[a] - p[b])
				exact[index(a, b, c)] = pr
				var mean, variance float64
				for _, q := range []float64{1, 1 - p[a], 1 - p[a] - p[b]} {
					mean += 1 / q
					variance += (1 - q) / (q * q)
				}
				meanTries += pr * mean
				meanSq += pr * (variance + mean*mean)
			}
		}
	}
	sd := math.Sqrt(meanSq - meanTries*meanTries)

	for _, path := range []struct {
		name   string
		budget int
	}{{"rejection", math.MaxInt}, {"race", -1}, {"race after a rejection", 0}} {
		t.Run(path.name, func(t *testing.T) {
			s, err := NewSampledSoftmax[float64](SampledConfig{
				Dim: 1, Sampler: sampler, NumSampled: k})
			if err != nil {
				t.Fatal(err)
			}
			s.rejectBudget = path.budget
			src := rand.NewPCG(11, 12)
			observed := make([]int, len(exact))
			var total float64
			for range sets {
				total += float64(s.Sample(src))
				c, _ := s.Sampled()
				observed[index(c[0], c[1], c[2])]++
			}
			if pv, _ := chiSquareP(observed, exact, sets); pv < 1e-6 {
				t.Errorf("ordered samples: chi-square p-value %g", pv)
			}
			if mean := total / sets; math.Abs(mean-meanTries) > 5*sd/math.Sqrt(sets) {
				t.Errorf("mean draws %g, want %g (sd of the mean %g)",
					mean, meanTries, sd/math.Sqrt(sets))
			}
		})
	}
}

// TestDistinctSampleNeverHangs asks for every class of a sampler whose
// rarest classes would take about 10^15 draws to reject their way into the
// sample.
func TestDistinctSampleNeverHangs(t *testing.T) {
	const n = 1000
	counts := slices.Repeat([]float64{1}, n)
	counts[0] = 1e15
	sampler, err := NewUnigramSampler(counts, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSampledSoftmax[float32](SampledConfig{Dim: 1, Sampler: sampler, NumSampled: n})
	if err != nil {
		t.Fatal(err)
	}
	src := rand.NewPCG(5, 5)
	for range 3 {
		tries := s.Sample(src)
		classes, expected := s.Sampled()
		if got := distinct(classes); len(got) != n || got[0] != 0 || got[n-1] != n-1 {
			t.Fatalf("the sample is not every class once: %d distinct", len(got))
		}
		if float64(tries) < min(1e14, maxTries) || s.tries < 1e14 {
			t.Errorf("%d draws (%g uncapped); the rarest classes need about 1e15 "+
				"(or the cap, %d)", tries, s.tries, maxTries)
		}
		for j, c := range classes {
			want := expectedCount(sampler.Prob(c), s.tries, true)
			if expected[j] != want || !(want > 0 && want <= 1) {
				t.Errorf("expected count of class %d = %g, want %g in (0, 1]", c, expected[j], want)
			}
		}
	}
}

// weightsFor returns random weights, biases and hidden vectors.
func weightsFor[F Float](rng *rand.Rand, n, d, batch int) (w, b, h []F) {
	return randomLogits[F](rng, n*d, 0.5), randomLogits[F](rng, n, 0.5),
		randomLogits[F](rng, batch*d, 1)
}

func TestSampledEqualsCrossEntropy(t *testing.T) {
	testAPI(t, sampledEqualsCrossEntropy[float32], sampledEqualsCrossEntropy[float64])
}

// sampledEqualsCrossEntropy takes every class as the sample, with expected
// counts of 1, and checks the loss and every gradient against
// CrossEntropy over the full logits.
func sampledEqualsCrossEntropy[F Float](t *testing.T) {
	const n, d = 300, 16
	tol := 1e-12
	if is32[F]() {
		tol = 1e-6
	}
	rng := rand.New(rand.NewPCG(21, 22))
	labels := []int{7, 0, n - 1, 7, 123}
	batch := len(labels)
	w, b, h := weightsFor[F](rng, n, d, batch)

	all := make([]int, n)
	ones := make([]float64, n)
	for c := range all {
		all[c], ones[c] = c, 1
	}
	s, err := NewSampledSoftmax[F](SampledConfig{Dim: d})
	if err != nil {
		t.Fatal(err)
	}
	s.SetSample(all, ones, ones[:batch])
	losses := make([]F, batch)
	dh := make([]F, batch*d)
	total := s.Loss(losses, dh, h, labels, w, b)

	// The full softmax: the same logits, CrossEntropy, and the gradients
	// accumulated in float64.
	logits, g := make([]F, n), make([]F, n)
	wantW := make([]float64, n*d)
	wantB := make([]float64, n)
	var wantTotal float64
	for i, target := range labels {
		hi := h[i*d : (i+1)*d]
		for c := range n {
			logits[c] = dot(w[c*d:(c+1)*d], hi) + b[c]
		}
		want := CrossEntropy(g, logits, target)
		wantTotal += float64(want)
		if !closeTo(float64(losses[i]), float64(want), tol) {
			t.Errorf("example %d: loss %g, CrossEntropy %g", i, losses[i], want)
		}
		for j := range d {
			var wantH float64
			for c := range n {
				wantH += float64(g[c]) * float64(w[c*d+j])
				wantW[c*d+j] += float64(g[c]) * float64(hi[j])
			}
			if !closeTo(float64(dh[i*d+j]), wantH, tol) {
				t.Errorf("example %d: dh[%d] = %g, want %g", i, j, dh[i*d+j], wantH)
			}
		}
		for c := range n {
			wantB[c] += float64(g[c])
		}
	}
	if !closeTo(float64(total), wantTotal, tol) {
		t.Errorf("total loss %g, want %g", total, wantTotal)
	}

	if s.GradRows() != n {
		t.Fatalf("%d gradient rows, want %d", s.GradRows(), n)
	}
	for j := range n {
		c, dw, db := s.GradRow(j)
		if !closeTo(float64(db), wantB[c], tol) {
			t.Errorf("class %d: db = %g, want %g", c, db, wantB[c])
		}
		for k := range d {
			if !closeTo(float64(dw[k]), wantW[c*d+k], tol) {
				t.Errorf("class %d: dw[%d] = %g, want %g", c, k, dw[k], wantW[c*d+k])
			}
		}
	}
}

// closeTo reports whether got is within tol·max(1, |want|) of want.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

// tfSampledLogits is TensorFlow's _compute_sampled_logits for one example,
// written out from its documentation: the true then the sampled logits,
// each w·h + b - log(expected count), with -FLT_MAX added to every sampled
// logit whose class is one of the example's true classes when hits are
// removed; and the labels of softmax_cross_entropy_with_logits, 1/num_true
// on the true logits and 0 on the sampled ones.
func tfSampledLogits(h []float64, trueClasses, sampled []int, trueQ, sampledQ []float64,
	w, b []float64, removeHits bool) (logits, targets []float64) {
	d := len(h)
	logit := func(c int, q float64) float64 {
		var z float64
		for j := range d {
			z += w[c*d+j] * h[j]
		}
		return z + b[c] - math.Log(q)
	}
	for j, c := range trueClasses {
		logits = append(logits, logit(c, trueQ[j]))
		targets = append(targets, 1/float64(len(trueClasses)))
	}
	for j, c := range sampled {
		z := logit(c, sampledQ[j])
		if removeHits && slices.Contains(trueClasses, c) {
			z += -math.MaxFloat32
		}
		logits = append(logits, z)
		targets = append(targets, 0)
	}
	return logits, targets
}

// tfCrossEntropy is softmax_cross_entropy_with_logits: -sum of
// targets[j]·log softmax(logits)[j].
func tfCrossEntropy(logits, targets []float64) float64 {
	m := slices.Max(logits)
	var sum float64
	for _, z := range logits {
		sum += math.Exp(z - m)
	}
	lse := m + math.Log(sum)
	var loss float64
	for j, z := range logits {
		loss -= targets[j] * (z - lse)
	}
	return loss
}

func toF64[F Float](x []F) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func TestSampledMatchesTensorFlow(t *testing.T) {
	testAPI(t, sampledMatchesTensorFlow[float32], sampledMatchesTensorFlow[float64])
}

// sampledMatchesTensorFlow checks logits and losses on fixed samples
// against the reference above: one and several true classes, repeated
// true and sampled classes, hits in some examples and not others, an
// example whose every sampled class is a hit, and hits kept.
func sampledMatchesTensorFlow[F Float](t *testing.T) {
	const n, d = 40, 5
	tol := 1e-12
	if is32[F]() {
		tol = 2e-6
	}
	rng := rand.New(rand.NewPCG(31, 32))
	cases := []struct {
		name    string
		numTrue int
		labels  []int
		sampled []int
		keep    bool
	}{
		{"one true, distinct", 1, []int{3, 17, 39, 0}, []int{5, 17, 0, 22, 8, 31}, false},
		{"one true, hits kept", 1, []int{3, 17, 39, 0}, []int{5, 17, 0, 22, 8, 31}, true},
		{"repeated samples", 1, []int{9, 4, 9}, []int{9, 4, 9, 9, 12, 4}, false},
		{"three true", 3, []int{1, 2, 3, 4, 5, 6, 7, 8, 9},
			[]int{2, 6, 10, 11, 9, 2, 33}, false},
		{"repeated true", 2, []int{5, 5, 6, 7, 8, 8}, []int{5, 8, 1, 2, 5}, false},
		{"every sample a hit", 3, []int{10, 20, 30, 10, 11, 12},
			[]int{20, 30, 10, 20}, false},
		{"every sample a hit, one true", 1, []int{4, 4}, []int{4, 4, 4}, false},
		{"three true, hits kept", 3, []int{10, 20, 30, 10, 11, 12},
			[]int{20, 30, 10, 20}, true},
	}
	for _, tc := range cases {
		batch := len(tc.labels) / tc.numTrue
		w, b, h := weightsFor[F](rng, n, d, batch)
		sampledQ := make([]float64, len(tc.sampled))
		for j := range sampledQ {
			sampledQ[j] = math.Exp(rng.Float64()*8 - 6)
		}
		trueQ := make([]float64, len(tc.labels))
		for j := range trueQ {
			trueQ[j] = math.Exp(rng.Float64()*8 - 6)
		}

		s, err := NewSampledSoftmax[F](SampledConfig{
			Dim: d, NumTrue: tc.numTrue, KeepAccidentalHits: tc.keep})
		if err != nil {
			t.Fatal(err)
		}
		s.SetSample(tc.sampled, sampledQ, trueQ)
		losses := make([]F, batch)
		total := s.Loss(losses, nil, h, tc.labels, w, b)

		w64, b64, h64 := toF64(w), toF64(b), toF64(h)
		var wantTotal float64
		for i := range batch {
			nt := tc.numTrue
			logits, targets := tfSampledLogits(h64[i*d:(i+1)*d], tc.labels[i*nt:(i+1)*nt],
				tc.sampled, trueQ[i*nt:(i+1)*nt], sampledQ, w64, b64, !tc.keep)
			got := s.Logits(i)
			for j, want := range logits {
				if want < -1e37 {
					if !math.IsInf(float64(got[j]), -1) {
						t.Errorf("%s: example %d: logit %d = %g, want a removed hit",
							tc.name, i, j, got[j])
					}
					continue
				}
				if !closeTo(float64(got[j]), want, tol) {
					t.Errorf("%s: example %d: logit %d = %g, want %g",
						tc.name, i, j, got[j], want)
				}
			}
			want := tfCrossEntropy(logits, targets)
			wantTotal += want
			if !closeTo(float64(losses[i]), want, tol) {
				t.Errorf("%s: example %d: loss %g, want %g", tc.name, i, losses[i], want)
			}
		}
		if !closeTo(float64(total), wantTotal, tol) {
			t.Errorf("%s: total loss %g, want %g", tc.name, total, wantTotal)
		}
	}
}

// TestSampledFiniteDifferences checks every gradient against central
// differences of the loss, in float64: with respect to each hidden value,
// each weight and each bias, of every class (those without a gradient row
// must not move the loss), and that Step applies them.
func TestSampledFiniteDifferences(t *testing.T) {
	const n, d, nt = 12, 4, 2
	rng := rand.New(rand.NewPCG(41, 42))
	labels := []int{1, 2, 3, 3, 0, 7}
	sampled := []int{2, 5, 5, 9, 0, 11}
	batch := len(labels) / nt
	w, b, h := weightsFor[float64](rng, n, d, batch)
	sampledQ := []float64{0.3, 0.01, 0.01, 2, 0.5, 1e-4}
	trueQ := []float64{1, 0.2, 0.05, 0.05, 3, 1e-3}

	s, err := NewSampledSoftmax[float64](SampledConfig{Dim: d, NumTrue: nt})
	if err != nil {
		t.Fatal(err)
	}
	s.SetSample(sampled, sampledQ, trueQ)
	dh := make([]float64, len(h))
	s.Loss(nil, dh, h, labels, w, b)
	dw := make([]float64, n*d)
	db := make([]float64, n)
	for j := range s.GradRows() {
		c, gw, gb := s.GradRow(j)
		copy(dw[c*d:(c+1)*d], gw)
		db[c] = gb
	}

	loss := func() float64 { return s.Loss(nil, nil, h, labels, w, b) }
	check := func(what string, x []float64, grad []float64) {
		t.Helper()
		const eps = 1e-6
		for i := range x {
			orig := x[i]
			x[i] = orig + eps
			up := loss()
			x[i] = orig - eps
			down := loss()
			x[i] = orig
			want := (up - down) / (2 * eps)
			if math.Abs(grad[i]-want) > 1e-7*max(1, math.Abs(want)) {
				t.Errorf("d loss / d %s[%d] = %g, finite differences %g", what, i, grad[i], want)
			}
		}
	}
	check("h", h, dh)
	check("w", w, dw)
	check("b", b, db)

	s.Loss(nil, nil, h, labels, w, b)
	w2, b2 := slices.Clone(w), slices.Clone(b)
	s.Step(w2, b2, 0.25)
	for i := range w {
		if want := w[i] - 0.25*dw[i]; math.Abs(w2[i]-want) > 1e-15 {
			t.Errorf("after Step, w[%d] = %g, want %g", i, w2[i], want)
		}
	}
	for c := range b {
		if want := b[c] - 0.25*db[c]; math.Abs(b2[c]-want) > 1e-15 {
			t.Errorf("after Step, b[%d] = %g, want %g", c, b2[c], want)
		}
	}
}

// TestSampledSameSeed trains two models from the same seed and checks
// that their losses agree exactly, step after step, and that another seed
// draws other samples.
func TestSampledSameSeed(t *testing.T) {
	const n, d, batch = 500, 8, 4
	sampler, err := NewLogUniformSampler(n)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) (losses []float32, samples [][]int) {
		rng := rand.New(rand.NewPCG(1, 1))
		w, b, h := weightsFor[float32](rng, n, d, batch)
		s, err := NewSampledSoftmax[float32](SampledConfig{
			Dim: d, Sampler: sampler, NumSampled: 20})
		if err != nil {
			t.Fatal(err)
		}
		src := rand.NewPCG(seed, 0)
		labels := []int{0, 3, 100, 499}
		for range 10 {
			s.Sample(src)
			classes, _ := s.Sampled()
			samples = append(samples, slices.Clone(classes))
			losses = append(losses, s.Loss(nil, nil, h, labels, w, b))
			s.Step(w, b, 0.1)
		}
		return losses, samples
	}
	l1, s1 := run(7)
	l2, s2 := run(7)
	if !slices.Equal(l1, l2) {
		t.Errorf("same seed, different losses:\n%v\n%v", l1, l2)
	}
	_, s3 := run(8)
	if slices.EqualFunc(s1, s3, slices.Equal) {
		t.Error("seeds 7 and 8 drew the same samples")
	}
	if !slices.EqualFunc(s1, s2, slices.Equal) {
		t.Error("same seed, different samples")
	}
}

// TestSampledNoAllocs checks that sampling, the loss with its gradients,
// and the step allocate nothing once the workspace has its size.
func TestSampledNoAllocs(t *testing.T) {
	const n, d, batch, nt = 5000, 16, 8, 2
	rng := rand.New(rand.NewPCG(51, 52))
	w, b, h := weightsFor[float32](rng, n, d, batch)
	labels := make([]int, batch*nt)
	for i := range labels {
		labels[i] = rng.IntN(n)
	}
	losses, dh := make([]float32, batch), make([]float32, batch*d)
	for name, sampler := range testSamplers(t, n) {
		for _, withRepl := range []bool{false, true} {
			s, err := NewSampledSoftmax[float32](SampledConfig{Dim: d, Sampler: sampler,
				NumSampled: 64, NumTrue: nt, WithReplacement: withRepl})
			if err != nil {
				t.Fatal(err)
			}
			src := rand.NewPCG(1, 2)
			step := func() {
				s.Sample(src)
				s.Loss(losses, dh, h, labels, w, b)
				s.Step(w, b, 0.01)
			}
			step()
			if a := testing.AllocsPerRun(20, step); a != 0 {
				t.Errorf("%s replacement=%v: %v allocations per step", name, withRepl, a)
			}
			if a := testing.AllocsPerRun(100, func() { sampler.Draw(src) }); a != 0 {
				t.Errorf("%s: %v allocations per draw", name, a)
			}
		}
	}

	// The race path too.
	s, err := NewSampledSoftmax[float32](SampledConfig{Dim: d,
		Sampler: testSamplers(t, n)["unigram"], NumSampled: 64})
	if err != nil {
		t.Fatal(err)
	}
	s.rejectBudget = -1
	src := rand.NewPCG(3, 4)
	if a := testing.AllocsPerRun(5, func() { s.Sample(src) }); a != 0 {
		t.Errorf("race: %v allocations per sample", a)
	}
}

// zeroSampler is a Sampler with classes of probability 0, for the
// checks of a Sampler from outside the package.
type zeroSampler struct{ n, drawable int }

func (z zeroSampler) NumClasses() int { return z.n }
func (z zeroSampler) Prob(c int) float64 {
	if c >= 0 && c < z.drawable {
		return 1 / float64(z.drawable)
	}
	return 0
}
func (z zeroSampler) Draw(src rand.Source) int {
	i, _ := boundedIndex(src, uint64(z.drawable))
	return int(i)
}

// TestSampledErrors checks that every bad setting is an error, and that a
// failed SetNumSampled changes nothing.
func TestSampledErrors(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, n := range []int{0, -1} {
		if _, err := NewUniformSampler(n); err == nil {
			t.Errorf("NewUniformSampler(%d): no error", n)
		}
		if _, err := NewLogUniformSampler(n); err == nil {
			t.Errorf("NewLogUniformSampler(%d): no error", n)
		}
	}
	for _, tc := range []struct {
		counts []float64
		power  float64
	}{
		{nil, 0.75}, {[]float64{}, 0.75},
		{[]float64{1, 0}, 0.75}, {[]float64{1, -2}, 0.75}, {[]float64{nan, 1}, 0.75},
		{[]float64{1, inf}, 0.75},
		{[]float64{1, 2}, 0}, {[]float64{1, 2}, -0.75}, {[]float64{1, 2}, nan},
		{[]float64{1, 2}, inf},
		{[]float64{1e300, 1e-300}, 2},
	} {
		if _, err := NewUnigramSampler(tc.counts, tc.power); err == nil {
			t.Errorf("NewUnigramSampler(%v, %g): no error", tc.counts, tc.power)
		}
	}

	u, _ := NewUniformSampler(10)
	for _, cfg := range []SampledConfig{
		{Dim: 0, Sampler: u, NumSampled: 5},
		{Dim: -3},
		{Dim: 4, NumTrue: -1},
		{Dim: 4, Sampler: u, NumSampled: 11},
		{Dim: 4, Sampler: u, NumSampled: 0},
		{Dim: 4, Sampler: u, NumSampled: -1},
		{Dim: 4, NumSampled: 5},
		{Dim: 4, Sampler: zeroSampler{n: 0, drawable: 0}, NumSampled: 1},
		{Dim: 4, Sampler: zeroSampler{n: 10, drawable: 3}, NumSampled: 4},
	} {
		if _, err := NewSampledSoftmax[float32](cfg); err == nil {
			t.Errorf("NewSampledSoftmax(%+v): no error", cfg)
		}
	}
	for _, cfg := range []SampledConfig{
		{Dim: 4, Sampler: u, NumSampled: 10},
		{Dim: 4, Sampler: u, NumSampled: 11, WithReplacement: true},
		{Dim: 4, Sampler: zeroSampler{n: 10, drawable: 3}, NumSampled: 3},
		{Dim: 4},
	} {
		if _, err := NewSampledSoftmax[float32](cfg); err != nil {
			t.Errorf("NewSampledSoftmax(%+v): %v", cfg, err)
		}
	}

	s, err := NewSampledSoftmax[float64](SampledConfig{Dim: 2, Sampler: u, NumSampled: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, -5, 11} {
		if err := s.SetNumSampled(k); err == nil {
			t.Errorf("SetNumSampled(%d): no error", k)
		}
	}
	if err := s.SetNumSampled(10); err != nil {
		t.Errorf("SetNumSampled(10): %v", err)
	}
	s.Sample(rand.NewPCG(1, 1))
	if c, _ := s.Sampled(); len(c) != 10 {
		t.Errorf("after SetNumSampled(10), %d samples", len(c))
	}
	noSampler, _ := NewSampledSoftmax[float64](SampledConfig{Dim: 2})
	if err := noSampler.SetNumSampled(1); err == nil {
		t.Error("SetNumSampled without a Sampler: no error")
	}
}

// TestSampledPanics checks that programmer errors panic with a message
// that names the function.
func TestSampledPanics(t *testing.T) {
	const n, d = 10, 3
	u, _ := NewUniformSampler(n)
	newS := func() *SampledSoftmax[float32] {
		s, err := NewSampledSoftmax[float32](SampledConfig{
			Dim: d, Sampler: u, NumSampled: 4, NumTrue: 2})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	w, b := make([]float32, n*d), make([]float32, n)
	h := make([]float32, 2*d)
	labels := []int{1, 2, 3, 4}
	const loss = "softmax.SampledSoftmax.Loss"

	assertPanics(t, loss, func() { newS().Loss(nil, nil, h, labels, w, b) })

	s := newS()
	s.Sample(rand.NewPCG(1, 2))
	for name, f := range map[string]func(){
		"label too large":   func() { s.Loss(nil, nil, h, []int{1, 2, 3, n}, w, b) },
		"negative label":    func() { s.Loss(nil, nil, h, []int{-1, 2, 3, 4}, w, b) },
		"odd labels":        func() { s.Loss(nil, nil, h[:d], []int{1, 2, 3}, w, b) },
		"short h":           func() { s.Loss(nil, nil, h[:d], labels, w, b) },
		"short dh":          func() { s.Loss(nil, make([]float32, d), h, labels, w, b) },
		"short losses":      func() { s.Loss(make([]float32, 1), nil, h, labels, w, b) },
		"ragged w":          func() { s.Loss(nil, nil, h, labels, w[:n*d-1], b) },
		"short b":           func() { s.Loss(nil, nil, h, labels, w, b[:n-1]) },
		"sampler vs w rows": func() { s.Loss(nil, nil, h, labels, w[:(n-1)*d], b[:n-1]) },
	} {
		t.Run(name, func(t *testing.T) { assertPanics(t, loss, f) })
	}

	s.SetSample([]int{1, n}, []float64{1, 1}, []float64{1, 1, 1, 1})
	assertPanics(t, loss, func() { s.Loss(nil, nil, h, labels, w, b) })
	s.SetSample([]int{1, 2}, []float64{1, 1}, []float64{1, 1, 1})
	assertPanics(t, loss, func() { s.Loss(nil, nil, h, labels, w, b) })
	assertPanics(t, "softmax.SampledSoftmax.SetSample", func() {
		s.SetSample([]int{1, 2}, []float64{1}, nil)
	})

	s.SetSample([]int{1, 2}, []float64{1, 1}, []float64{1, 1, 1, 1})
	s.Loss(nil, nil, h, labels, w, b)
	assertPanics(t, "softmax.SampledSoftmax.Logits", func() { s.Logits(2) })
	assertPanics(t, "softmax.SampledSoftmax.GradRow", func() { s.GradRow(s.GradRows()) })
	assertPanics(t, "softmax.SampledSoftmax.Step", func() { s.Step(w[:d], b, 0.1) })
	assertPanics(t, "softmax.SampledSoftmax.Step", func() { s.Step(w, b[:1], 0.1) })

	noSampler, _ := NewSampledSoftmax[float32](SampledConfig{Dim: d})
	assertPanics(t, "softmax.SampledSoftmax.Sample", func() { noSampler.Sample(rand.NewPCG(1, 1)) })
}

// TestSkewedSampleExpectedCounts checks that the expected counts of a
// distinct sample stay right when the draws it would take are far beyond
// 2^53: two rare classes among one of overwhelming count must be drawn,
// which takes about 1.5 times the big count in draws, so their expected
// count is about 1 - e^-1.5, not the 2^53/big that a capped count gives.
func TestSkewedSampleExpectedCounts(t *testing.T) {
	for _, big := range []float64{1e15, 1e17, 1e20} {
		sampler, err := NewUnigramSampler([]float64{big, 1, 1}, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSampledSoftmax[float64](SampledConfig{Dim: 1, Sampler: sampler, NumSampled: 3})
		if err != nil {
			t.Fatal(err)
		}
		src := rand.NewPCG(9, 9)
		var sum float64
		const runs = 400
		for range runs {
			s.Sample(src)
			classes, expected := s.Sampled()
			for j, c := range classes {
				if c == 1 {
					sum += expected[j]
				}
			}
		}
		if mean := sum / runs; mean < 0.5 || mean > 0.95 {
			t.Errorf("counts {%g, 1, 1}: mean expected count of a rare class %g, want "+
				"about 0.7", big, mean)
		}
	}
}

// TestHugeSettingsAreErrors checks that absurd sizes are errors from the
// constructor, not a crash when it allocates, and that a sampler over
// 2^62 (or 2^30) classes still samples at once.
func TestHugeSettingsAreErrors(t *testing.T) {
	u, err := NewUniformSampler(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []SampledConfig{
		{Dim: 2, Sampler: u, NumSampled: math.MaxInt, WithReplacement: true},
		{Dim: 2, Sampler: u, NumSampled: math.MaxInt / 3, WithReplacement: true},
		{Dim: math.MaxInt, Sampler: u, NumSampled: 4},
	} {
		if _, err := NewSampledSoftmax[float32](cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	for _, n := range []int{math.MaxInt / 2, math.MaxInt} {
		huge, err := NewLogUniformSampler(n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSampledSoftmax[float32](SampledConfig{Dim: 2, Sampler: huge, NumSampled: 5})
		if err != nil {
			t.Fatal(err)
		}
		if tries := s.Sample(rand.NewPCG(1, 1)); tries < 5 || tries > 1000 {
			t.Errorf("n = %d: %d draws for 5 distinct classes", n, tries)
		}
	}
}
