package softmax

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// This file holds sampled softmax (Jean et al., 2015) with the semantics of
// TensorFlow's tf.nn.sampled_softmax_loss: the samplers that draw the
// classes a batch is contrasted with, and the loss with its gradients.
//
// For an example with hidden vector h and true classes t_1..t_T, and a
// sample s_1..s_k shared by the batch, the logits are
//
//	w[c]·h + b[c] - log Q(c)
//
// for c = t_1..t_T, s_1..s_k in that order, where Q(c) is the expected
// number of times c occurs in the sample. A sampled position whose class
// is one of the example's true classes (an accidental hit) is removed. The
// loss is the cross-entropy of the softmax of those logits against the
// distribution that puts 1/T on each true position.

// Sampler is a probability distribution over the classes 0..n-1, from
// which sampled softmax draws the classes it contrasts the true ones with.
//
// The samplers of this package are immutable after construction, so any
// number of goroutines may draw from one at once, each with its own source.
type Sampler interface {
	// NumClasses returns n, the number of classes.
	NumClasses() int
	// Prob returns the probability that one draw gives class c; it is 0
	// for c outside [0, n).
	Prob(c int) float64
	// Draw returns one class drawn with the probabilities of Prob, taking
	// all its randomness from src.
	Draw(src rand.Source) int
}

// UniformSampler draws each of n classes with probability 1/n.
type UniformSampler struct {
	n uint64
	p float64
}

// NewUniformSampler returns a uniform sampler over n classes. It returns
// an error if n < 1.
func NewUniformSampler(n int) (*UniformSampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("softmax.NewUniformSampler: %d classes; need at least 1", n)
	}
	return &UniformSampler{n: uint64(n), p: 1 / float64(n)}, nil
}

// NumClasses returns the number of classes.
func (s *UniformSampler) NumClasses() int { return int(s.n) }

// Prob returns 1/n for every class in range.
func (s *UniformSampler) Prob(c int) float64 {
	if c < 0 || uint64(c) >= s.n {
		return 0
	}
	return s.p
}

// Draw returns a class drawn uniformly with one value from src (rarely
// more).
func (s *UniformSampler) Draw(src rand.Source) int {
	i, _ := boundedIndex(src, s.n)
	return int(i)
}

// boundedIndex returns an index drawn uniformly from [0, n) by Lemire's
// multiply-and-shift method with its rejection step, and the low half of
// the product that chose it. Given the index, the low half is spread
// evenly over [0, 2^64) in steps of n, so it serves as a second uniform
// number accurate to n/2^64.
func boundedIndex(src rand.Source, n uint64) (index, frac uint64) {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		reject := -n % n
		for lo < reject {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi, lo
}

// LogUniformSampler draws class k of n with probability
// log((k+2)/(k+1)) / log(n+1), an approximation of Zipf's law that suits
// classes sorted by descending frequency (the most frequent word is class
// 0). It is TensorFlow's log_uniform_candidate_sampler.
type LogUniformSampler struct {
	n     int
	logN1 float64 // log(n+1)
}

// NewLogUniformSampler returns a log-uniform sampler over n classes. It
// returns an error if n < 1.
func NewLogUniformSampler(n int) (*LogUniformSampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("softmax.NewLogUniformSampler: %d classes; need at least 1", n)
	}
	return &LogUniformSampler{n: n, logN1: math.Log1p(float64(n))}, nil
}

// NumClasses returns the number of classes.
func (s *LogUniformSampler) NumClasses() int { return s.n }

// Prob returns log((c+2)/(c+1)) / log(n+1).
func (s *LogUniformSampler) Prob(c int) float64 {
	if c < 0 || c >= s.n {
		return 0
	}
	return math.Log1p(1/(float64(c)+1)) / s.logN1
}

// Draw returns a class by inverting the cumulative distribution
// log(k+2)/log(n+1): floor(exp(u·log(n+1))) - 1 for u uniform in [0, 1).
func (s *LogUniformSampler) Draw(src rand.Source) int {
	u := float64(src.Uint64()>>11) * 0x1p-53
	k := int(math.Exp(u*s.logN1)) - 1
	return min(k, s.n-1)
}

// UnigramSampler draws each class with probability proportional to its
// count raised to a power, as word2vec draws its negative samples (power
// 0.75). A draw takes constant time whatever the number of classes, by
// Walker's alias method.
type UnigramSampler struct {
	n    uint64
	prob []float64

	// table holds the alias table, one bucket of 8 bytes per class so that
	// it stays in cache: the low aliasBits bits of bucket i are its alias,
	// and the bits above them are the fraction of 2^64 below which a draw
	// in the bucket keeps class i, so the fraction is quantized to
	// 2^-(64-aliasBits). A bucket that keeps class i whole has alias i.
	table     []uint64
	aliasBits uint
}

// NewUnigramSampler returns a sampler that draws class i with probability
// counts[i]^power / sum over j of counts[j]^power. It returns an error if
// there are no counts, if a count is not positive and finite, if power is
// not positive and finite, or if a count is so small beside the largest
// that its probability underflows to 0.
func NewUnigramSampler(counts []float64, power float64) (*UnigramSampler, error) {
	const fn = "softmax.NewUnigramSampler"
	if len(counts) == 0 {
		return nil, fmt.Errorf("%s: no classes", fn)
	}
	if !(power > 0) || math.IsInf(power, 1) {
		return nil, fmt.Errorf("%s: power %g; need a positive finite power", fn, power)
	}
	largest := 0.0
	for i, c := range counts {
		if !(c > 0) || math.IsInf(c, 1) {
			return nil, fmt.Errorf("%s: counts[%d] = %g; need a positive finite count",
				fn, i, c)
		}
		largest = max(largest, c)
	}

	// Raise count/largest rather than count, so that nothing overflows.
	prob := make([]float64, len(counts))
	var sum neumaier
	for i, c := range counts {
		prob[i] = math.Pow(c/largest, power)
		if prob[i] == 0 {
			return nil, fmt.Errorf("%s: counts[%d] = %g is too small beside %g to be drawn "+
				"with power %g", fn, i, c, largest, power)
		}
		sum.add(prob[i])
	}
	total := sum.total()
	for i := range prob {
		prob[i] /= total
	}

	s := &UnigramSampler{n: uint64(len(prob)), prob: prob}
	s.aliasBits = uint(bits.Len64(s.n - 1))
	aliasMask := uint64(1)<<s.aliasBits - 1
	s.table = make([]uint64, len(prob))
	for i, b := range aliasTable(prob) {
		keep := b.keep &^ aliasMask
		if b.alias == i {
			keep = 0
		}
		s.table[i] = keep | uint64(b.alias)
	}
	return s, nil
}

// aliasBucket is one of the n equally likely buckets of an alias table: a
// draw that lands in bucket i gives class i when the bucket's uniform
// number is below keep (as a fraction of 2^64), and class alias otherwise.
type aliasBucket struct {
	keep  uint64
	alias int
}

// aliasTable builds the alias table of the distribution prob by Vose's
// method: each bucket holds at most two classes, and the scaled
// probability n·prob[i] of every class is spread over the buckets it
// occupies. What a large class has left to place is kept in double-double
// arithmetic, so that it stays exact however many small classes it fills
// up.
func aliasTable(prob []float64) []aliasBucket {
	n := len(prob)
	table := make([]aliasBucket, n)
	scaled := make([]float64, n)
	small := make([]int, 0, n)
	large := make([]int, 0, n)
	for i, p := range prob {
		scaled[i] = p * float64(n)
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}

	// Fill each small class's bucket up from a large class, which then
	// has that much less left: rest = rest + scaled[s] - 1 with rest as
	// the unevaluated sum hi + lo.
	var restHi, restLo float64
	current := -1
	for len(small) > 0 && len(large) > 0 {
		s := small[len(small)-1]
		small = small[:len(small)-1]
		l := large[len(large)-1]
		if l != current {
			current, restHi, restLo = l, scaled[l], 0
		}
		table[s] = aliasBucket{keep: keepFraction(scaled[s]), alias: l}
		var e1, e2 float64
		restHi, e1 = twoSum(restHi, scaled[s])
		restHi, e2 = twoSum(restHi, -1)
		restHi, restLo = twoSum(restHi, restLo+e1+e2)
		scaled[l] = restHi
		if restHi < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
			current = -1
		}
	}

	// What remains has a scaled probability of 1 up to rounding.
	for _, i := range append(small, large...) {
		table[i] = aliasBucket{keep: math.MaxUint64, alias: i}
	}
	return table
}

// twoSum returns a+b rounded and the rounding error, exactly.
func twoSum(a, b float64) (sum, err float64) {
	sum = a + b
	bb := sum - a
	err = (a - (sum - bb)) + (b - bb)
	return sum, err
}

// keepFraction returns x, in [0, 1], as a fraction of 2^64, saturated.
func keepFraction(x float64) uint64 {
	v := x * 0x1p64
	if v >= 0x1p64 {
		return math.MaxUint64
	}
	return uint64(v)
}

// NumClasses returns the number of classes.
func (s *UnigramSampler) NumClasses() int { return int(s.n) }

// Prob returns counts[c]^power / sum over j of counts[j]^power.
func (s *UnigramSampler) Prob(c int) float64 {
	if c < 0 || uint64(c) >= s.n {
		return 0
	}
	return s.prob[c]
}

// Draw returns a class from one value of src (rarely more): its high part
// picks a bucket, its low part decides between the bucket's two classes.
func (s *UnigramSampler) Draw(src rand.Source) int {
	i, frac := boundedIndex(src, s.n)
	b := s.table[i]
	aliasMask := uint64(1)<<s.aliasBits - 1
	c := i
	if frac >= b&^aliasMask {
		c = b & aliasMask
	}
	return int(c)
}

// ExpectedCount returns the expected number of times a class of
// probability p occurs in a sample that took tries draws: p·tries when the
// draws are independent (unique false); 1 - (1-p)^tries when the sample
// keeps distinct classes only (unique true), the probability that the
// class was drawn at least once. The second is computed as
// -expm1(tries·log1p(-p)), accurate however small p is.
//
// TensorFlow's samplers use p·tries also for a distinct sample when no
// draw was rejected; this function does not, so that the expected count of
// a distinct sample never exceeds 1.
func ExpectedCount(p float64, tries int, unique bool) float64 {
	return expectedCount(p, float64(tries), unique)
}

// expectedCount is ExpectedCount for a number of draws held as a float64,
// which the exponential race of Sample can make larger than any int.
func expectedCount(p, tries float64, unique bool) float64 {
	if !unique {
		return p * tries
	}
	return -math.Expm1(tries * math.Log1p(-p))
}

// SampledConfig configures a SampledSoftmax. The zero values of its
// options are TensorFlow's defaults: distinct samples, one true class,
// accidental hits removed.
type SampledConfig struct {
	// Dim is the length of the hidden vectors and of the weight rows.
	Dim int

	// Sampler is the distribution SampledSoftmax.Sample draws from. It
	// may be nil if every sample is given with SampledSoftmax.SetSample.
	Sampler Sampler

	// NumSampled is the number of classes SampledSoftmax.Sample draws
	// for each batch; at least 1 when there is a Sampler, 0 otherwise.
	NumSampled int

	// WithReplacement makes Sample draw NumSampled independent classes,
	// which may repeat. By default the classes are distinct: Sample draws
	// until it has NumSampled different ones (TensorFlow's unique=True).
	WithReplacement bool

	// NumTrue is the number of true classes of each example; 0 means 1.
	NumTrue int

	// KeepAccidentalHits keeps a sampled class in an example's softmax
	// even when it is one of the example's true classes (TensorFlow's
	// remove_accidental_hits=False). By default it is removed.
	KeepAccidentalHits bool
}

// SampledSoftmax computes the sampled softmax loss of an output layer with
// weight rows w[c] and biases b[c], and its gradients, for batches that
// share one sample of classes. It holds its workspace, so that after the
// first batch of a given size nothing allocates. It is not safe for
// concurrent use.
//
// A training step is Sample (or SetSample), then Loss, then Step.
//
// Matrices are row-major slices: w holds n rows of Dim weights (row c is
// w[c*Dim : (c+1)*Dim]), a batch of hidden vectors holds one row of Dim
// per example, and the labels hold NumTrue classes per example.
type SampledSoftmax[F Float] struct {
	dim, numTrue, numSampled int
	sampler                  Sampler
	unique, removeHits       bool

	// rejectBudget is the number of rejected draws after which Sample
	// stops rejecting and completes a distinct sample by an exponential
	// race instead. Tests lower it to run that path.
	rejectBudget int

	// The current sample. trueExpected holds the expected counts of the
	// labels when the caller set the sample; otherwise they come from the
	// sampler and tries.
	sampled      []int
	expected     []float64
	sampledLogQ  []F
	trueExpected []float64
	tries        float64 // draws the sample took; see Sample
	hasSample    bool
	fromSampler  bool

	// Sampling workspace: the classes drawn so far, and the heap of the
	// exponential race.
	seen      classTable
	raceKey   []float64
	raceClass []int

	// Loss workspace. Each distinct class of the batch (sampled or true)
	// has a slot: a row of gw and an element of gb that accumulate its
	// gradient.
	slots       classTable
	slotClass   []int
	sampledSlot []int
	labelSlot   []int
	mark        []int
	trueLogQ    []F
	logits, dz  []F
	gw, gb      []F
	classes     int // rows of w in the last Loss
	batch       int // examples in the last Loss
}

// NewSampledSoftmax returns a SampledSoftmax for cfg. It returns an error
// if Dim is not positive, NumTrue is negative, the Sampler has no
// classes, NumSampled is out of range for the Sampler (see SetNumSampled),
// or NumSampled is not 0 without a Sampler.
func NewSampledSoftmax[F Float](cfg SampledConfig) (*SampledSoftmax[F], error) {
	const fn = "softmax.NewSampledSoftmax"
	if cfg.Dim < 1 || cfg.Dim > maxSampledSize {
		return nil, fmt.Errorf("%s: Dim = %d; need 1 to %d", fn, cfg.Dim, maxSampledSize)
	}
	if cfg.NumTrue < 0 {
		return nil, fmt.Errorf("%s: NumTrue = %d; need at least 0", fn, cfg.NumTrue)
	}
	s := &SampledSoftmax[F]{
		dim:        cfg.Dim,
		numTrue:    max(cfg.NumTrue, 1),
		sampler:    cfg.Sampler,
		unique:     !cfg.WithReplacement,
		removeHits: !cfg.KeepAccidentalHits,
	}
	if cfg.Sampler == nil {
		if cfg.NumSampled != 0 {
			return nil, fmt.Errorf("%s: NumSampled = %d without a Sampler", fn, cfg.NumSampled)
		}
		return s, nil
	}
	if n := cfg.Sampler.NumClasses(); n < 1 {
		return nil, fmt.Errorf("%s: the Sampler has %d classes; need at least 1", fn, n)
	}
	if err := s.SetNumSampled(cfg.NumSampled); err != nil {
		return nil, err
	}
	return s, nil
}

// maxSampledSize bounds Dim and NumSampled, so that the workspace a
// SampledSoftmax allocates for them, and the products of sizes it forms,
// stay far from overflow and from exhausting memory: 2^24, beyond any
// hidden size or sample in use.
const maxSampledSize = 1 << 24

// SetNumSampled sets the number of classes Sample draws to k. It returns
// an error, and changes nothing, if there is no Sampler, if k < 1 or
// k > 2^24, or if the sample is to be distinct and the Sampler has fewer
// than k classes of nonzero probability.
func (s *SampledSoftmax[F]) SetNumSampled(k int) error {
	const fn = "softmax.SampledSoftmax.SetNumSampled"
	if s.sampler == nil {
		return fmt.Errorf("%s: there is no Sampler", fn)
	}
	if k < 1 || k > maxSampledSize {
		return fmt.Errorf("%s: %d samples; need 1 to %d", fn, k, maxSampledSize)
	}
	n := s.sampler.NumClasses()
	if s.unique {
		if k > n {
			return fmt.Errorf("%s: %d distinct samples asked of %d classes", fn, k, n)
		}
		if drawable := positiveClasses(s.sampler); k > drawable {
			return fmt.Errorf("%s: %d distinct samples asked of %d classes of nonzero "+
				"probability", fn, k, drawable)
		}
	}

	s.numSampled = k
	s.rejectBudget = math.MaxInt // 2n + 16k, without overflowing
	if n < (math.MaxInt-16*k)/2 {
		s.rejectBudget = 2*n + 16*k
	}
	s.sampled = make([]int, k)
	s.expected = make([]float64, k)
	s.sampledLogQ = make([]F, k)
	s.raceKey = make([]float64, 0, k)
	s.raceClass = make([]int, 0, k)
	s.seen.reset(k)
	s.hasSample = false
	return nil
}

// positiveClasses returns the number of classes s can draw. Every class
// of the samplers of this package can be drawn; another Sampler is asked.
func positiveClasses(s Sampler) int {
	switch s.(type) {
	case *UniformSampler, *LogUniformSampler, *UnigramSampler:
		return s.NumClasses()
	}
	count := 0
	for c := range s.NumClasses() {
		if s.Prob(c) > 0 {
			count++
		}
	}
	return count
}

// Sample draws the sample the next batches share, NumSampled classes from
// the Sampler with the randomness of src, and returns the number of draws
// it took (more than NumSampled when a distinct sample rejected repeats).
// The expected count of each class follows from that number, as
// ExpectedCount says. The number returned is capped at 2^53 (at MaxInt
// where int has 32 bits): a very skewed distribution can make it
// astronomically large, and the expected counts are computed from the
// uncapped number.
//
// A distinct sample is drawn by rejecting repeats, which is fast while
// the classes drawn hold little of the probability. When rejections
// become many (a sample of most of the classes, or a very skewed
// distribution), Sample completes the sample with an exponential race in
// O(n log k) time, which gives the same distribution of classes and of
// the number of draws, so it never runs for long.
//
// Sample panics if there is no Sampler, or if the Sampler draws a class
// outside [0, n).
func (s *SampledSoftmax[F]) Sample(src rand.Source) int {
	const fn = "SampledSoftmax.Sample"
	if s.sampler == nil {
		panic("softmax." + fn + ": there is no Sampler; use SetSample")
	}
	n, k := s.sampler.NumClasses(), s.numSampled
	s.sampled = grow(s.sampled, k)
	s.expected = grow(s.expected, k)
	s.sampledLogQ = grow(s.sampledLogQ, k)
	classes := s.sampled

	tries := float64(k)
	if s.unique {
		tries = s.drawDistinct(src, classes)
	} else {
		for j := range classes {
			classes[j] = s.sampler.Draw(src)
		}
	}

	for j, c := range classes {
		if c < 0 || c >= n {
			panic(fmt.Sprintf("softmax.%s: the Sampler drew class %d, outside [0, %d)",
				fn, c, n))
		}
		q := expectedCount(s.sampler.Prob(c), tries, s.unique)
		s.expected[j] = q
		s.sampledLogQ[j] = F(math.Log(q))
	}
	s.tries = tries
	s.hasSample, s.fromSampler = true, true
	return int(min(tries, maxTries))
}

// maxTries caps the number of draws Sample reports, which the exponential
// race computes rather than performs and which can be astronomically
// large for a sampler with nearly all its probability on a few classes.
const maxTries = min(1<<53, math.MaxInt)

// drawDistinct fills classes with distinct draws and returns the number of
// draws it took.
func (s *SampledSoftmax[F]) drawDistinct(src rand.Source, classes []int) float64 {
	s.seen.reset(len(classes))
	picked, tries, rejected := 0, 0, 0
	for picked < len(classes) {
		if rejected > s.rejectBudget {
			return s.finishByRace(src, classes, picked, float64(tries))
		}
		c := s.sampler.Draw(src)
		tries++
		if _, found := s.seen.insert(c, picked); found {
			rejected++
			continue
		}
		classes[picked] = c
		picked++
	}
	return float64(tries)
}

// finishByRace completes classes[picked:] and returns the number of draws
// that rejection sampling would have taken in all, given that it has
// taken tries so far.
//
// Rejection sampling picks each next class with probability proportional
// to its own among the classes not yet picked, after a number of draws
// that is geometric with success probability the mass of those classes,
// independently of which class it picks. An exponential race gives the
// first: each remaining class c finishes at E_c/p_c with E_c exponential,
// and the order of finishing is the order of picking. The draws are then
// drawn from their geometric distributions. By memorylessness, the draws
// rejection sampling already spent waiting count as they are.
func (s *SampledSoftmax[F]) finishByRace(src rand.Source, classes []int, picked int,
	tries float64) float64 {
	// Keep the k-picked earliest finishers in a max-heap.
	want := len(classes) - picked
	keys, heap := s.raceKey[:0], s.raceClass[:0]
	var rest neumaier
	for c := range s.sampler.NumClasses() {
		if _, found := s.seen.lookup(c); found {
			continue
		}
		p := s.sampler.Prob(c)
		if !(p > 0) {
			continue
		}
		rest.add(p)
		key := -math.Log(uniformOpen(src)) / p
		if len(heap) < want {
			keys, heap = append(keys, key), append(heap, c)
			siftUp(keys, heap, len(heap)-1)
		} else if key < keys[0] {
			keys[0], heap[0] = key, c
			siftDown(keys, heap)
		}
	}

	// Take them out latest first, so that classes are in finishing order.
	for j := len(classes) - 1; j >= picked; j-- {
		last := len(heap) - 1
		classes[j] = heap[0]
		keys[0], heap[0] = keys[last], heap[last]
		keys, heap = keys[:last], heap[:last]
		siftDown(keys, heap)
	}

	for _, c := range classes[picked:] {
		tries += geometric(src, rest.total())
		rest.add(-s.sampler.Prob(c))
	}
	return tries
}

// siftUp and siftDown keep keys a max-heap, moving classes along.
func siftUp(keys []float64, classes []int, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if keys[parent] >= keys[i] {
			return
		}
		keys[parent], keys[i] = keys[i], keys[parent]
		classes[parent], classes[i] = classes[i], classes[parent]
		i = parent
	}
}

func siftDown(keys []float64, classes []int) {
	i := 0
	for {
		largest := i
		if l := 2*i + 1; l < len(keys) && keys[l] > keys[largest] {
			largest = l
		}
		if r := 2*i + 2; r < len(keys) && keys[r] > keys[largest] {
			largest = r
		}
		if largest == i {
			return
		}
		keys[largest], keys[i] = keys[i], keys[largest]
		classes[largest], classes[i] = classes[i], classes[largest]
		i = largest
	}
}

// uniformOpen returns a number drawn uniformly from (0, 1].
func uniformOpen(src rand.Source) float64 {
	return float64(src.Uint64()>>11+1) * 0x1p-53
}

// geometric returns the number of independent trials up to and including
// the first success, for success probability q; +Inf when q is 0.
func geometric(src rand.Source, q float64) float64 {
	switch {
	case q >= 1:
		return 1
	case !(q > 0):
		return math.Inf(1)
	}
	return 1 + math.Floor(math.Log(uniformOpen(src))/math.Log1p(-q))
}

// SetSample makes classes the sample the next batches share, with the
// expected count of each in expected and the expected counts of the next
// batch's labels in trueExpected (one per label, in the order of the
// labels): TensorFlow's sampled_values. Classes may repeat. Expected
// counts of 1 everywhere leave the logits uncorrected. The slices are
// copied.
//
// The expected counts should be positive: log Q of a count of 0 is -Inf,
// and the loss is then +Inf or NaN.
//
// SetSample panics if classes and expected have different lengths. Loss
// panics if a class is out of range or trueExpected does not have one
// count per label.
func (s *SampledSoftmax[F]) SetSample(classes []int, expected, trueExpected []float64) {
	if len(classes) != len(expected) {
		panic(lengthMismatch("SampledSoftmax.SetSample", "classes", len(classes),
			"expected", len(expected)))
	}
	k := len(classes)
	s.sampled = append(s.sampled[:0], classes...)
	s.expected = append(s.expected[:0], expected...)
	s.sampledLogQ = grow(s.sampledLogQ, k)
	for j, q := range expected {
		s.sampledLogQ[j] = F(math.Log(q))
	}
	s.trueExpected = append(s.trueExpected[:0], trueExpected...)
	s.tries = float64(k)
	s.hasSample, s.fromSampler = true, false
}

// Sampled returns the current sample and the expected count of each of
// its classes. The slices belong to s and change with the next sample.
func (s *SampledSoftmax[F]) Sampled() (classes []int, expected []float64) {
	return s.sampled, s.expected
}

// Loss returns the sum over the batch of the sampled softmax loss, and
// computes its gradients. The batch is the rows of h, one hidden vector of
// Dim per example, with labels holding NumTrue true classes per example;
// w holds the n weight rows of Dim and b the n biases, or is nil for a
// layer without biases. It uses the current sample (see Sample and
// SetSample).
//
// When losses is not nil it receives each example's loss; when dh is not
// nil it is set to the gradient of the sum with respect to h, in the
// layout of h. The gradients with respect to the weight rows and biases of
// the batch's true and sampled classes, and of no other class, stay in s
// for Step, GradRows and GradRow. The logits stay in s for Logits.
//
// The logits of an example are its NumTrue true classes then the sampled
// ones, each w[c]·h + b[c] - log Q(c); a removed accidental hit is -Inf,
// which the softmax maps to exactly 0 (TensorFlow adds -FLT_MAX, to the
// same effect). Every occurrence of a repeated sampled class that is a
// true class of the example is removed; TensorFlow removes only the last
// one, its hit detection presupposing distinct samples. Each true
// position carries weight 1/NumTrue, so a repeated true class counts
// twice, as in TensorFlow.
//
// Loss panics if the lengths do not fit that layout, if a label or a
// sampled class is outside [0, n), if there is no sample yet, if the
// Sampler does not have n classes, or if the sample was set by SetSample
// with a different number of true expected counts than labels.
func (s *SampledSoftmax[F]) Loss(losses, dh, h []F, labels []int, w, b []F) F {
	n, batch := s.checkLoss(losses, dh, h, labels, w, b)
	s.classes, s.batch = n, batch
	d, nt, k := s.dim, s.numTrue, len(s.sampled)
	m := nt + k

	// Give each distinct class of the batch a slot.
	s.slots.reset(k + len(labels))
	s.slotClass = s.slotClass[:0]
	s.sampledSlot = grow(s.sampledSlot, k)
	s.labelSlot = grow(s.labelSlot, len(labels))
	for j, c := range s.sampled {
		s.sampledSlot[j] = s.slotOf(c)
	}
	for j, c := range labels {
		s.labelSlot[j] = s.slotOf(c)
	}
	slots := len(s.slotClass)
	s.gw = grow(s.gw, slots*d)
	s.gb = grow(s.gb, slots)
	s.mark = grow(s.mark, slots)
	clear(s.gw)
	clear(s.gb)
	clear(s.mark)

	// The correction of the true logits.
	s.trueLogQ = grow(s.trueLogQ, len(labels))
	for j, c := range labels {
		var q float64
		if s.fromSampler {
			q = expectedCount(s.sampler.Prob(c), s.tries, s.unique)
		} else {
			q = s.trueExpected[j]
		}
		s.trueLogQ[j] = F(math.Log(q))
	}

	s.logits = grow(s.logits, batch*m)
	s.dz = grow(s.dz, m)
	var total float64
	for i := range batch {
		hi := h[i*d : (i+1)*d]
		row := s.logits[i*m : (i+1)*m]
		s.exampleLogits(row, hi, i, w, b)

		// The loss and its gradient with respect to the logits: the
		// softmax less the target distribution, 1/NumTrue on each true
		// position.
		var li float64
		if nt == 1 {
			li = float64(CrossEntropy(s.dz, row, 0))
		} else {
			Softmax(s.dz, row)
			var sumTrue float64
			for _, z := range row[:nt] {
				sumTrue += float64(z)
			}
			li = float64(LogSumExp(row)) - sumTrue/float64(nt)
			for j := range nt {
				s.dz[j] -= F(1 / float64(nt))
			}
		}
		if losses != nil {
			losses[i] = F(li)
		}
		total += li

		var dhi []F
		if dh != nil {
			dhi = dh[i*d : (i+1)*d]
			clear(dhi)
		}
		s.exampleGrads(dhi, hi, i, w)
	}
	return F(total)
}

// checkLoss checks the arguments of Loss and returns the number of
// classes and of examples.
func (s *SampledSoftmax[F]) checkLoss(losses, dh, h []F, labels []int, w, b []F) (n, batch int) {
	const fn = "softmax.SampledSoftmax.Loss"
	d, nt := s.dim, s.numTrue
	if !s.hasSample {
		panic(fn + ": no sample; call Sample or SetSample first")
	}
	if len(labels)%nt != 0 {
		panic(fmt.Sprintf("%s: len(labels) = %d is not a multiple of NumTrue = %d",
			fn, len(labels), nt))
	}
	batch = len(labels) / nt
	if len(h) != batch*d {
		panic(fmt.Sprintf("%s: len(h) = %d, want %d for %d examples of Dim %d",
			fn, len(h), batch*d, batch, d))
	}
	if dh != nil && len(dh) != len(h) {
		panic(lengthMismatch("SampledSoftmax.Loss", "dh", len(dh), "h", len(h)))
	}
	if losses != nil && len(losses) != batch {
		panic(fmt.Sprintf("%s: len(losses) = %d, want %d examples", fn, len(losses), batch))
	}
	if len(w) == 0 || len(w)%d != 0 {
		panic(fmt.Sprintf("%s: len(w) = %d is not a positive multiple of Dim = %d",
			fn, len(w), d))
	}
	n = len(w) / d
	if b != nil && len(b) != n {
		panic(fmt.Sprintf("%s: len(b) = %d but len(w)/Dim = %d classes; one of them is wrong",
			fn, len(b), n))
	}
	if s.fromSampler && s.sampler.NumClasses() != n {
		panic(fmt.Sprintf("%s: the Sampler has %d classes, w has %d rows",
			fn, s.sampler.NumClasses(), n))
	}
	if !s.fromSampler && len(s.trueExpected) != len(labels) {
		panic(fmt.Sprintf("%s: %d true expected counts given to SetSample, %d labels",
			fn, len(s.trueExpected), len(labels)))
	}
	for j, c := range labels {
		if c < 0 || c >= n {
			panic(fmt.Sprintf("%s: labels[%d] = %d out of range [0, %d)", fn, j, c, n))
		}
	}
	for j, c := range s.sampled {
		if c < 0 || c >= n {
			panic(fmt.Sprintf("%s: sampled class %d (position %d) out of range [0, %d)",
				fn, c, j, n))
		}
	}
	return n, batch
}

// slotOf returns the slot of class c, giving it a new one if it has none.
func (s *SampledSoftmax[F]) slotOf(c int) int {
	slot, found := s.slots.insert(c, len(s.slotClass))
	if !found {
		s.slotClass = append(s.slotClass, c)
	}
	return slot
}

// exampleLogits sets row to the logits of example i, whose hidden vector
// is hi.
//
// TODO: each logit is one BLAS dot product, which is right for the small
// batches of the benchmarks and the example; for large batches, gathering
// the sampled rows once and computing every example's sampled logits with
// one Gemm would read them from cache instead of once per example.
func (s *SampledSoftmax[F]) exampleLogits(row, hi []F, i int, w, b []F) {
	d, nt := s.dim, s.numTrue
	labels := s.labelSlot[i*nt : (i+1)*nt]
	for j, slot := range labels {
		c := s.slotClass[slot]
		row[j] = dot(w[c*d:(c+1)*d], hi) + bias(b, c) - s.trueLogQ[i*nt+j]
		s.mark[slot] = i + 1
	}
	for j, slot := range s.sampledSlot {
		if s.removeHits && s.mark[slot] == i+1 {
			row[nt+j] = F(math.Inf(-1))
			continue
		}
		c := s.sampled[j]
		row[nt+j] = dot(w[c*d:(c+1)*d], hi) + bias(b, c) - s.sampledLogQ[j]
	}
}

// exampleGrads adds the gradient of example i, whose hidden vector is hi,
// with respect to the logits (in s.dz) into the gradients of the weight
// rows and biases, and sets dhi, if not nil, to the gradient with respect
// to hi.
func (s *SampledSoftmax[F]) exampleGrads(dhi, hi []F, i int, w []F) {
	d, nt := s.dim, s.numTrue
	for j, g := range s.dz {
		if g == 0 {
			continue
		}
		var slot int
		if j < nt {
			slot = s.labelSlot[i*nt+j]
		} else {
			slot = s.sampledSlot[j-nt]
		}
		c := s.slotClass[slot]
		if dhi != nil {
			axpy(g, w[c*d:(c+1)*d], dhi)
		}
		axpy(g, hi, s.gw[slot*d:(slot+1)*d])
		s.gb[slot] += g
	}
}

func bias[F Float](b []F, c int) F {
	if b == nil {
		return 0
	}
	return b[c]
}

// Logits returns the logits of example i of the last Loss: its NumTrue
// true classes then the sampled classes, each less log Q, with removed
// accidental hits at -Inf. The slice belongs to s and changes with the
// next Loss. Logits panics if i is not an example of the last Loss.
func (s *SampledSoftmax[F]) Logits(i int) []F {
	if i < 0 || i >= s.batch {
		panic(fmt.Sprintf("softmax.SampledSoftmax.Logits: example %d out of range [0, %d)",
			i, s.batch))
	}
	m := s.numTrue + len(s.sampled)
	return s.logits[i*m : (i+1)*m]
}

// GradRows returns the number of classes of the last Loss with a gradient:
// the distinct true and sampled classes of the batch.
func (s *SampledSoftmax[F]) GradRows() int { return len(s.slotClass) }

// GradRow returns the j-th class with a gradient, for j in [0, GradRows()),
// the gradient of the last Loss with respect to its weight row, and with
// respect to its bias. dw belongs to s and changes with the next Loss.
// GradRow panics if j is out of range.
func (s *SampledSoftmax[F]) GradRow(j int) (class int, dw []F, db F) {
	if j < 0 || j >= len(s.slotClass) {
		panic(fmt.Sprintf("softmax.SampledSoftmax.GradRow: row %d out of range [0, %d)",
			j, len(s.slotClass)))
	}
	d := s.dim
	return s.slotClass[j], s.gw[j*d : (j+1)*d], s.gb[j]
}

// Step applies the gradients of the last Loss with learning rate lr:
// w[c] -= lr·dw[c] and b[c] -= lr·db[c] for each class c with a gradient.
// b may be nil, which leaves the biases as they are (their gradients from
// Loss are then not applied). Before the first Loss there is nothing to
// apply and Step does nothing. It panics if w and b do not have the sizes
// Loss had.
func (s *SampledSoftmax[F]) Step(w, b []F, lr F) {
	const fn = "softmax.SampledSoftmax.Step"
	d := s.dim
	if len(s.slotClass) > 0 {
		if len(w) != s.classes*d {
			panic(fmt.Sprintf("%s: len(w) = %d, want %d as in Loss", fn, len(w), s.classes*d))
		}
		if b != nil && len(b) != s.classes {
			panic(fmt.Sprintf("%s: len(b) = %d, want %d as in Loss", fn, len(b), s.classes))
		}
	}
	for slot, c := range s.slotClass {
		axpy(-lr, s.gw[slot*d:(slot+1)*d], w[c*d:(c+1)*d])
		if b != nil {
			b[c] -= lr * s.gb[slot]
		}
	}
}

// dot returns x·y through gonum's BLAS, so that a BLAS installed with
// blas32.Use or blas64.Use serves here too.
func dot[F Float](x, y []F) F {
	if is32[F]() {
		return F(blas32.Dot(vec32(x), vec32(y)))
	}
	return F(blas64.Dot(vec64(x), vec64(y)))
}

// axpy sets y += alpha·x through gonum's BLAS.
func axpy[F Float](alpha F, x, y []F) {
	if is32[F]() {
		blas32.Axpy(float32(alpha), vec32(x), vec32(y))
		return
	}
	blas64.Axpy(float64(alpha), vec64(x), vec64(y))
}

func vec32[F Float](x []F) blas32.Vector {
	return blas32.Vector{N: len(x), Inc: 1, Data: as32(x)}
}

func vec64[F Float](x []F) blas64.Vector {
	return blas64.Vector{N: len(x), Inc: 1, Data: as64(x)}
}

// grow returns x resliced to length n, reallocated only if its capacity
// is short. The contents are unspecified.
func grow[T any](x []T, n int) []T {
	if cap(x) < n {
		return make([]T, n, max(n, 2*cap(x)))
	}
	return x[:n]
}

// classTable maps classes to small integers, by open addressing with
// linear probing. Resetting it costs time proportional to its size, which
// is proportional to the number of classes it is sized for, not to n.
type classTable struct {
	entries []classEntry // a power of two of them
	shift   uint
}

// classEntry is one cell of a classTable; key is the class plus 1, so
// that the zero cell is empty.
type classEntry struct {
	key, val int
}

// reset empties t and sizes it for up to n classes.
func (t *classTable) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if len(t.entries) < size {
		t.entries = make([]classEntry, size)
		t.shift = uint(64 - bits.TrailingZeros(uint(size)))
		return
	}
	clear(t.entries)
}

func (t *classTable) home(c int) int {
	return int((uint64(c) * 0x9e3779b97f4a7c15) >> t.shift)
}

// insert maps c to v unless c is present, and returns the value c maps to
// and whether it was present. t must have room, which reset ensures.
func (t *classTable) insert(c, v int) (val int, found bool) {
	mask := len(t.entries) - 1
	for i := t.home(c); ; i = (i + 1) & mask {
		e := &t.entries[i]
		switch e.key {
		case c + 1:
			return e.val, true
		case 0:
			*e = classEntry{key: c + 1, val: v}
			return v, false
		}
	}
}

// lookup returns the value c maps to and whether it is present.
func (t *classTable) lookup(c int) (val int, found bool) {
	mask := len(t.entries) - 1
	for i := t.home(c); ; i = (i + 1) & mask {
		e := t.entries[i]
		switch e.key {
		case c + 1:
			return e.val, true
		case 0:
			return 0, false
		}
	}
}
