package softmax

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// This file holds sparsemax (Martins and Astudillo, 2016), the Euclidean
// projection onto the probability simplex: sparsemax(z)[i] = max(z[i]-tau, 0),
// where the threshold tau is the one number at which the outputs sum to 1.
// The support is the set of inputs above tau; every other output is exactly
// 0.
//
// The textbook method sorts z. This one finds tau in expected linear time,
// whatever the input, and decides the support exactly:
//
//  1. The maximum m, from the core's kernel.
//  2. A filter pass in the manner of Condat (2016). For any set v of inputs,
//     rho(v) = (sum(v)-1)/|v| is at most tau, so an input at or below it is
//     outside the support for good. The pass keeps the candidates above
//     rho(v), where v starts as the maximum alone (rho = m-1) and grows with
//     every candidate kept, which raises rho. When most inputs turn out to
//     be candidates (a support of most of the vector), it stops storing them
//     and only sums the rest; if the certificate below then holds, the
//     support needs no list, and otherwise one more pass collects the
//     candidates above tau of what was summed.
//  3. A certificate: tau of the candidates, from their compensated sum, as
//     an unevaluated sum of two float64s. If every candidate lies above it
//     by more than its rounding error, the candidates are exactly the
//     support (they are consistent with tau, and all the rest are below).
//  4. If not, cleanup passes over the candidates (Condat's last step) drop
//     those at or below rho of the candidates left, updating rho at once,
//     and the certificate is tried again. Should the passes not settle, the
//     pivoting of Duchi et al. (2008) prunes the candidates in expected
//     linear time.
//  5. When a pass drops nothing and the certificate still fails, some
//     candidates lie within rounding of the threshold (exact ties, as with
//     integer logits, or near ties). They are decided by the same pivoting,
//     with the test of the sort-based definition evaluated in exact
//     arithmetic: a fixed-point sum that holds any sum of float64s.
//
// Every floating-point test in steps 2 and 4 keeps an input unless it is
// certainly outside the support, with a margin that bounds the rounding
// error, so no member of the support is ever lost. The arithmetic is
// float64 for both element types, on inputs shifted by the maximum when that
// shift is exact for every input within 1 of it (Sterbenz's lemma), so that
// 1e8 in float32, where adding 1 is lost, still has the right support.

// roundoff is the unit roundoff of float64, 2^-53.
const roundoff = 0x1p-53

// sparsemaxStack is the number of candidates that an in-place call holds in
// an array on its stack before it borrows a buffer from a pool. Logits drawn
// from a distribution with a tail, such as a normal, leave a few dozen
// candidates even at a million inputs.
const sparsemaxStack = 128

// sparsemaxPurge is the number of candidates at which the filter first
// runs a cleanup pass over those it has stored; it does again each time
// their number doubles.
const sparsemaxPurge = 32

// sparsemaxPasses is the number of cleanup passes after which the pivoting
// method prunes the candidates; after twice as many, the exact resolution
// decides them. Tests lower it to exercise those paths.
var sparsemaxPasses = 8

// Sparsemax sets dst to the sparsemax of src, the Euclidean projection of src
// onto the probability simplex (Martins and Astudillo, 2016):
// dst[i] = max(src[i]-threshold, 0), where threshold is the number at which
// the outputs sum to 1. Unlike Softmax's, most outputs are exactly 0;
// support is the number of inputs above the threshold, whose outputs are
// positive.
//
// The support is that of the sort-based definition evaluated in exact
// arithmetic, ties at the threshold included; the threshold and the outputs
// are within a few units in the last place of float64 of their exact values
// (then rounded to F), so the outputs sum to 1 to within rounding. The
// threshold is returned rounded to F. The time taken is expected linear in
// len(src), and nothing is allocated once a pool has warmed up.
//
// dst may be src; otherwise the two must not overlap. Special values: a NaN
// or +Inf anywhere in src, or every element -Inf, makes every output NaN,
// with threshold NaN and support 0; a -Inf element gets exactly 0 and
// changes nothing else. An empty src leaves dst untouched and returns NaN
// and 0.
//
// Sparsemax panics if dst and src have different lengths.
func Sparsemax[F Float](dst, src []F) (threshold F, support int) {
	if len(dst) != len(src) {
		panic(lengthMismatch("Sparsemax", "dst", len(dst), "src", len(src)))
	}
	if len(src) == 0 {
		return F(math.NaN()), 0
	}
	if !sameStart(dst, src) {
		return sparsemaxInto(dst, src, dst, &sparseScratch[F]{})
	}
	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	threshold, support = sparsemaxInto(dst, src, stack[:], &sc)
	sc.release()
	return threshold, support
}

// SparsemaxBackward sets dst to the gradient of a loss with respect to the
// input z of Sparsemax, given p = Sparsemax(z) and g, the gradient of the
// loss with respect to p. This is the vector-Jacobian product g·J (J is
// symmetric, so it is also J·g): on the support (p[i] > 0), dst[i] = g[i]
// minus the mean of g over the support; elsewhere dst[i] = 0.
//
// dst may be p or g. A NaN in p makes every output NaN; a NaN or infinity
// in g on the support makes every output on the support NaN.
//
// SparsemaxBackward panics if the three lengths differ.
func SparsemaxBackward[F Float](dst, p, g []F) {
	if len(p) != len(dst) {
		panic(lengthMismatch("SparsemaxBackward", "dst", len(dst), "p", len(p)))
	}
	if len(g) != len(dst) {
		panic(lengthMismatch("SparsemaxBackward", "dst", len(dst), "g", len(g)))
	}

	var sum neumaier
	k := 0
	g = g[:len(p)]
	for i, pi := range p {
		switch {
		case pi > 0:
			sum.add(float64(g[i]))
			k++
		case pi != pi:
			fillNaN(dst)
			return
		}
	}

	mean := 0.0
	if k > 0 {
		mean = sum.total() / float64(k)
	}
	dst = dst[:len(p)]
	for i, pi := range p {
		var v F
		if pi > 0 {
			v = F(float64(g[i]) - mean)
		}
		dst[i] = v
	}
}

// SparsemaxLoss returns the sparsemax loss of logits z against the class
// target (Martins and Astudillo, 2016),
//
//	-z[target] + ½·Σ_{j in S}(z[j]² - tau²) + ½,
//
// where S and tau are the support and threshold of Sparsemax(z). It is the
// sparse counterpart of CrossEntropy: convex, never negative, and zero
// exactly when z[target] exceeds every other logit by at least 1. It is
// computed in the equivalent form ½·Σ p[j]² + ½ - (z[target] - tau), which
// does not cancel for large logits. When grad is not nil it also sets grad
// to the gradient of the loss with respect to the logits,
// Sparsemax(z) - onehot(target); grad may be logits.
//
// Special values follow Sparsemax: a NaN or +Inf logit, or every logit -Inf,
// gives a NaN loss and a NaN gradient; a target logit of -Inf among finite
// ones gives +Inf.
//
// SparsemaxLoss panics if target is not an index of logits, or if grad is
// not nil and has a different length from logits.
func SparsemaxLoss[F Float](grad, logits []F, target int) F {
	if target < 0 || target >= len(logits) {
		panic(fmt.Sprintf("softmax.SparsemaxLoss: target %d out of range [0, %d)",
			target, len(logits)))
	}
	if grad != nil && len(grad) != len(logits) {
		panic(lengthMismatch("SparsemaxLoss", "grad", len(grad), "logits", len(logits)))
	}
	if grad != nil && !sameStart(grad, logits) {
		return sparsemaxLossInto(grad, logits, target, grad, &sparseScratch[F]{})
	}
	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	loss := sparsemaxLossInto(grad, logits, target, stack[:], &sc)
	sc.release()
	return loss
}

// SparsemaxLossDist returns the sparsemax loss of logits z against a target
// distribution q (Martins and Astudillo, 2016),
//
//	-q·z + ½·Σ_{j in S}(z[j]² - tau²) + ½·‖q‖²,
//
// computed as ½·Σ p[j]² + ½·‖q‖² - Σ q[j]·(z[j] - tau), which equals it when
// q sums to 1. q is a probability distribution: non-negative entries that
// sum to 1 (for example label-smoothed or multi-label targets); for other q
// the result is the second form, which is not the paper's loss. The loss is
// never negative and is zero exactly when Sparsemax(z) = q. When grad is not
// nil it also sets grad to the gradient with respect to the logits,
// Sparsemax(z) - q; grad may be logits or q.
//
// Special values follow SparsemaxLoss; a logit of -Inf where q is positive
// gives +Inf, and where q is 0 changes nothing. A NaN in q gives a NaN loss.
//
// SparsemaxLossDist panics if q, or grad when it is not nil, has a different
// length from logits.
func SparsemaxLossDist[F Float](grad, logits, q []F) F {
	if len(q) != len(logits) {
		panic(lengthMismatch("SparsemaxLossDist", "q", len(q), "logits", len(logits)))
	}
	if grad != nil && len(grad) != len(logits) {
		panic(lengthMismatch("SparsemaxLossDist", "grad", len(grad), "logits", len(logits)))
	}
	if len(logits) == 0 {
		return F(math.NaN())
	}
	if grad != nil && !sameStart(grad, logits) && !sameStart(grad, q) {
		return sparsemaxLossDistInto(grad, logits, q, grad, &sparseScratch[F]{})
	}
	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	loss := sparsemaxLossDistInto(grad, logits, q, stack[:], &sc)
	sc.release()
	return loss
}

// SparsemaxRows applies Sparsemax to each of the rows of src, writing dst.
// The layout is that of SoftmaxRows; dst may be src.
//
// It panics if rows or cols is negative, stride is less than cols, or a
// slice is too short for the layout.
func SparsemaxRows[F Float](dst, src []F, rows, cols, stride int) {
	checkLayout("SparsemaxRows", "src", len(src), rows, cols, stride)
	checkLayout("SparsemaxRows", "dst", len(dst), rows, cols, stride)
	if cols == 0 || rows == 0 {
		return
	}
	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	for r := 0; r < rows; r++ {
		o := r * stride
		d, s := dst[o:o+cols], src[o:o+cols]
		buf := d
		if sameStart(d, s) {
			buf = stack[:]
		}
		sparsemaxInto(d, s, buf, &sc)
	}
	sc.release()
}

// SparsemaxBackwardRows applies SparsemaxBackward to each row: row r of dst
// receives the backward pass of row r of p (a Sparsemax output) and of g.
// The three slices share the layout of SoftmaxRows; dst may be p or g.
//
// It panics if rows or cols is negative, stride is less than cols, or a
// slice is too short for the layout.
func SparsemaxBackwardRows[F Float](dst, p, g []F, rows, cols, stride int) {
	checkLayout("SparsemaxBackwardRows", "dst", len(dst), rows, cols, stride)
	checkLayout("SparsemaxBackwardRows", "p", len(p), rows, cols, stride)
	checkLayout("SparsemaxBackwardRows", "g", len(g), rows, cols, stride)
	for r := 0; r < rows; r++ {
		o := r * stride
		SparsemaxBackward(dst[o:o+cols], p[o:o+cols], g[o:o+cols])
	}
}

// SparsemaxLossRows returns the sum over rows of SparsemaxLoss(row r of
// logits, targets[r]); the batch has len(targets) rows. When grad is not nil
// it receives, row by row, the gradient of the returned sum (divide both by
// the number of rows for the mean). grad may be logits.
//
// It panics if a target is out of range, if cols or stride is invalid, or a
// slice is too short for the layout.
func SparsemaxLossRows[F Float](grad, logits []F, targets []int, cols, stride int) F {
	rows := len(targets)
	checkLayout("SparsemaxLossRows", "logits", len(logits), rows, cols, stride)
	if grad != nil {
		checkLayout("SparsemaxLossRows", "grad", len(grad), rows, cols, stride)
	}
	for r, t := range targets {
		if t < 0 || t >= cols {
			panic(fmt.Sprintf("softmax.SparsemaxLossRows: targets[%d] = %d out of range [0, %d)",
				r, t, cols))
		}
	}

	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	var total float64
	for r, t := range targets {
		o := r * stride
		z := logits[o : o+cols]
		var g []F
		buf := stack[:]
		if grad != nil {
			g = grad[o : o+cols]
			if !sameStart(g, z) {
				buf = g
			}
		}
		total += float64(sparsemaxLossInto(g, z, t, buf, &sc))
	}
	sc.release()
	return F(total)
}

// SparsemaxLossDistRows returns the sum over rows of SparsemaxLossDist(row r
// of logits, row r of q): NaN for rows of no columns, 0 for no rows. When
// grad is not nil it receives, row by row, the gradient of the returned
// sum. The three slices share the layout of SoftmaxRows; grad may be logits
// or q.
//
// It panics if rows or cols is negative, stride is less than cols, or a
// slice is too short for the layout.
func SparsemaxLossDistRows[F Float](grad, logits, q []F, rows, cols, stride int) F {
	checkLayout("SparsemaxLossDistRows", "logits", len(logits), rows, cols, stride)
	checkLayout("SparsemaxLossDistRows", "q", len(q), rows, cols, stride)
	if grad != nil {
		checkLayout("SparsemaxLossDistRows", "grad", len(grad), rows, cols, stride)
	}
	if cols == 0 && rows > 0 {
		return F(math.NaN()) // the loss of an empty row, as SparsemaxLossDist
	}

	var stack [sparsemaxStack]F
	var sc sparseScratch[F]
	var total float64
	for r := 0; r < rows; r++ {
		o := r * stride
		z, qr := logits[o:o+cols], q[o:o+cols]
		var g []F
		buf := stack[:]
		if grad != nil {
			g = grad[o : o+cols]
			if !sameStart(g, z) && !sameStart(g, qr) {
				buf = g
			}
		}
		total += float64(sparsemaxLossDistInto(g, z, qr, buf, &sc))
	}
	sc.release()
	return F(total)
}

// SparsemaxDense applies Sparsemax to each row of src, writing dst, which
// must have the same dimensions and may be src.
func SparsemaxDense(dst, src *mat.Dense) {
	d, s := denseRows("SparsemaxDense", dst, src)
	if d.Cols == 0 {
		return
	}
	var stack [sparsemaxStack]float64
	var sc sparseScratch[float64]
	for r := 0; r < s.Rows; r++ {
		dr := d.Data[r*d.Stride : r*d.Stride+d.Cols]
		sr := s.Data[r*s.Stride : r*s.Stride+s.Cols]
		buf := dr
		if sameStart(dr, sr) {
			buf = stack[:]
		}
		sparsemaxInto(dr, sr, buf, &sc)
	}
	sc.release()
}

// SparsemaxLossDense returns the sum over the rows of logits of their
// SparsemaxLoss against targets, one target per row. When grad is not nil it
// must have the dimensions of logits (it may be logits) and receives the
// gradient of the sum.
func SparsemaxLossDense(grad, logits *mat.Dense, targets []int) float64 {
	l := logits.RawMatrix()
	if len(targets) != l.Rows {
		panic(fmt.Sprintf("softmax.SparsemaxLossDense: len(targets) = %d, want %d rows",
			len(targets), l.Rows))
	}
	for r, t := range targets {
		if t < 0 || t >= l.Cols {
			panic(fmt.Sprintf("softmax.SparsemaxLossDense: targets[%d] = %d out of range [0, %d)",
				r, t, l.Cols))
		}
	}
	var g []float64
	gStride := 0
	if grad != nil {
		gm, _ := denseRows("SparsemaxLossDense", grad, logits)
		g, gStride = gm.Data, gm.Stride
	}

	var stack [sparsemaxStack]float64
	var sc sparseScratch[float64]
	var total float64
	for r, t := range targets {
		z := l.Data[r*l.Stride : r*l.Stride+l.Cols]
		var gr []float64
		buf := stack[:]
		if grad != nil {
			gr = g[r*gStride : r*gStride+l.Cols]
			if !sameStart(gr, z) {
				buf = gr
			}
		}
		total += sparsemaxLossInto(gr, z, t, buf, &sc)
	}
	sc.release()
	return total
}

// sparsemaxInto computes dst = sparsemax(src) for a non-empty src, with
// scratch memory buf and then sc, and returns the threshold and the
// support size. buf may be dst.
func sparsemaxInto[F Float](dst, src, buf []F, sc *sparseScratch[F]) (F, int) {
	var r sparsemaxResult[F]
	if _, ok := solveSparsemax(&r, src, buf, sc); !ok {
		fillNaN(dst)
		return F(math.NaN()), 0
	}
	writeSparsemax(dst, src, &r)
	return r.threshold(), r.k
}

// sparsemaxLossInto is SparsemaxLoss after the checks; grad may be nil, and
// the scratch buffer buf may be grad.
func sparsemaxLossInto[F Float](grad, logits []F, target int, buf []F,
	sc *sparseScratch[F]) F {

	xt := logits[target]
	var r sparsemaxResult[F]
	support, ok := solveSparsemax(&r, logits, buf, sc)
	if !ok {
		if grad != nil {
			fillNaN(grad)
		}
		return F(math.NaN())
	}

	// ½·Σp² + ½ - (z[target] - tau), read from the support before grad,
	// which may hold it, is written.
	loss := 0.5*r.sumSquares(logits, support) + 0.5 - r.above(xt)
	if grad != nil {
		writeSparsemax(grad, logits, &r)
		grad[target] -= 1
	}
	return F(max(loss, 0))
}

// sparsemaxLossDistInto is SparsemaxLossDist after the checks, for a
// non-empty logits; grad may be nil, and the scratch buffer buf may be grad
// when grad is neither logits nor q.
func sparsemaxLossDistInto[F Float](grad, logits, q, buf []F, sc *sparseScratch[F]) F {
	var r sparsemaxResult[F]
	support, ok := solveSparsemax(&r, logits, buf, sc)
	if !ok {
		if grad != nil {
			fillNaN(grad)
		}
		return F(math.NaN())
	}

	// ½·Σp² + ½·‖q‖² - Σ q[j]·(z[j] - tau), over the j where q[j] is not 0,
	// so that a masked logit with no target mass adds nothing.
	var qz, qq neumaier
	masked, nan := false, false
	q = q[:len(logits)]
	for j, qj := range q {
		if qj == 0 {
			continue
		}
		if qj != qj {
			nan = true
			continue
		}
		a := r.above(logits[j])
		if math.IsInf(a, -1) {
			masked = true
			continue
		}
		qz.add(float64(qj) * a)
		qq.add(float64(qj) * float64(qj))
	}
	loss := 0.5*r.sumSquares(logits, support) + 0.5*qq.total() - qz.total()
	switch {
	case nan:
		loss = math.NaN()
	case masked:
		loss = math.Inf(1)
	}

	if grad != nil {
		grad = grad[:len(logits)]
		for j, x := range logits {
			grad[j] = F(r.output(x) - float64(q[j]))
		}
	}
	return F(max(loss, 0)) // max keeps a NaN
}

// sameStart reports whether a and b are non-empty and start at the same
// element: whether dst is src, for the in-place forms.
func sameStart[F Float](a, b []F) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// sparsemaxResult is the solution that solveSparsemax finds.
type sparsemaxResult[F Float] struct {
	// c is the shift subtracted from every input before any arithmetic:
	// the maximum, or 0 when shifting by the maximum would not be exact.
	c float64
	// The threshold is c + tauHi + tauLo, an unevaluated sum.
	tauHi, tauLo float64
	// bound is the smallest input in the support: an input is in the
	// support exactly when it is at least bound.
	bound F
	// k is the size of the support.
	k int
}

// threshold returns the threshold rounded to F.
func (r *sparsemaxResult[F]) threshold() F {
	return F(r.c + r.tauHi + r.tauLo)
}

// above returns x - threshold, accurately, in float64.
func (r *sparsemaxResult[F]) above(x F) float64 {
	return ((float64(x) - r.c) - r.tauHi) - r.tauLo
}

// output returns the sparsemax output for the input x.
func (r *sparsemaxResult[F]) output(x F) float64 {
	if x < r.bound {
		return 0
	}
	return max(r.above(x), 0)
}

// sumSquares returns the sum of the squared outputs for the input src,
// reading only support, the inputs in the support, unless it is nil.
func (r *sparsemaxResult[F]) sumSquares(src, support []F) float64 {
	var s float64
	if support == nil {
		for _, x := range src {
			p := r.output(x)
			s += p * p
		}
		return s
	}
	for _, x := range support {
		p := max(r.above(x), 0)
		s += p * p
	}
	return s
}

// writeSparsemax sets dst[i] to the sparsemax output for src[i].
//
// TODO: this pass and the filter's skip loop are scalar Go; the core has
// no kernel for them. A SIMD kernel for max((x-c)-t, 0) where x >= bound,
// and one that finds the next x with k·(x-c) > bound, would make both
// passes as fast as the core's max, which matters for the supports of the
// whole vector (the ramp and equal benchmarks), where they are most of
// the time.
func writeSparsemax[F Float](dst, src []F, r *sparsemaxResult[F]) {
	c, hi, lo, bound := r.c, r.tauHi, r.tauLo, r.bound
	dst = dst[:len(src)]
	for i, x := range src {
		var y F
		if x >= bound {
			if v := ((float64(x) - c) - hi) - lo; v > 0 {
				y = F(v)
			}
		}
		dst[i] = y
	}
}

// sparsemaxDense is the number of candidates from which the filter, if it
// has kept more than half of the inputs it has seen and at least a
// sixteenth of all, stops storing them and only sums the rest (step 2 at
// the top of this file): the support is then likely most of the vector, and
// storing and re-reading it would cost more than sorting does on such
// inputs. (The sixteenth keeps inputs sorted in descending order, such as
// the logits of a vocabulary sorted by frequency, on the filter, which on
// them keeps exactly the support.) Inputs of at most 4*sparsemaxDense
// elements are summed from the start.
const sparsemaxDense = 4

// filterBound returns the bound below which a candidate x (shifted by c)
// is certainly outside the support: k·x <= filterBound(s, k, extra)
// implies x <= rho(v) = (sum(v)-1)/k for the set v of k shifted inputs
// whose sum is s. Every candidate lies within 2 of the shift, so the
// margin 16·u·k covers the rounding of k·x, of s, of s-1 and of the bound
// itself; extra covers the error of the compensated sum behind s and adds
// 16·u for the constant terms.
func filterBound(s, k, extra float64) float64 {
	return (s - 1) - (16*roundoff*k + extra)
}

// solveSparsemax sets r to the threshold and the support of src, which is
// not empty, with scratch memory buf and then sc; buf may be the output,
// which is written after. It returns the inputs in the support, in scratch
// memory, or nil if it did not list them. It reports false, leaving r
// incomplete, when src holds NaN or +Inf or only -Inf. The steps are those
// described at the top of this file.
//
// The support is a result rather than a field of r: the escape analysis
// follows a result, but takes a store through a pointer for an escape, and
// buf may be an array on the caller's stack.
func solveSparsemax[F Float](r *sparsemaxResult[F], src, buf []F,
	sc *sparseScratch[F]) (support []F, ok bool) {

	// Step 1: the maximum, and the shift.
	mx := maxOf(src)
	if !isFinite(mx) {
		return nil, false
	}
	m := float64(mx)
	if m >= 2 || m <= -1 {
		// Every input within 1 of m is then within a factor of 2 of it,
		// so its difference from m is exact.
		r.c = m
	}
	c := r.c

	// Every sum below is kept as sum + comp by TwoSum; the error of such a
	// sum, after ops additions and removals to a set of at most k inputs
	// (each within 2 of c), is below ops²·u²·2k. With ops <= 2n and k <= n,
	// sumErr bounds it for every sum here.
	nf := float64(len(src))
	sumErr := 8 * roundoff * roundoff * nf * nf * nf
	extra := 16*roundoff + sumErr

	// Step 2: the filter. v is the maximum (counted from the start, though
	// stored only when the pass reaches it) and every candidate kept after
	// it; sum + comp is its sum, shifted by c.
	n := 0
	wmax := m - c
	sum, comp := wmax, 0.0
	k, lowest := 1.0, wmax // lowest is the smallest candidate, shifted
	slack := 16*roundoff*k + extra
	bound := (sum - 1) - slack // filterBound(sum, k, extra)
	seenMax := false
	purgeAt := sparsemaxPurge
	i := 0
	for len(src) > 4*sparsemaxDense {
		// The hot loop skips the inputs certainly outside the support; it
		// is kept apart so that it carries no more state than it uses.
		// (TODO: a SIMD kernel; see writeSparsemax.)
		for i < len(src) && k*(float64(src[i])-c) <= bound {
			i++
		}
		if i == len(src) {
			break
		}
		// x is stored before it is converted, and the tests below use
		// its shifted value, so that x is dead once converted (see
		// sumAbove). The shift is exact for every candidate.
		x := src[i]
		i++
		if n == len(buf) {
			buf = sc.grow(buf[:n], len(src))
		}
		buf[n] = x
		n++
		w := float64(x) - c
		if w == wmax && !seenMax {
			seenMax = true
			continue
		}
		// A NaN is stored and summed like a candidate; it makes the sum,
		// and then every bound, NaN, which is checked after the loop.
		var e float64
		sum, e = knuthTwoSum(sum, w)
		comp += e
		k++
		if w < lowest {
			lowest = w
		}
		slack += 16 * roundoff
		bound = (sum + comp - 1) - slack
		if n >= purgeAt {
			// Each time the candidates double, drop those now at or below
			// rho(v): they drag rho down, and with it the filter.
			var kept []F
			kept, k, sum, comp, lowest = prune(buf[:n], c, k, sum, comp, extra, wmax)
			n = len(kept)
			purgeAt = 2 * max(n, sparsemaxPurge)
			slack = 16*roundoff*k + extra
			bound = (sum + comp - 1) - slack
		}
		if n >= sparsemaxDense && 2*n > i && 16*n >= len(src) {
			break
		}
	}
	if sum != sum {
		return nil, false // NaN
	}
	cand := buf[:n]

	if i < len(src) {
		// Most inputs are candidates. Add every other candidate to v,
		// testing against the bound v had at this point, without storing;
		// if all of v proves to be above tau(v) (step 3), v is the
		// support.
		ds, dc, count, dl := sumAbove(src[i:], c, k, bound)
		kd := float64(count)
		lowest = min(lowest, dl)
		var dc2 float64
		sum, dc2 = knuthTwoSum(sum, ds)
		comp += dc + dc2
		if sum != sum {
			return nil, false // NaN
		}
		if !seenMax {
			// The maximum was counted at the start and again here.
			var e float64
			sum, e = knuthTwoSum(sum, -(m - c))
			comp += e
			kd--
		}
		k += kd
		hi, lo, inv := simplexThreshold(sum, comp, int(k))
		delta := 4*roundoff*math.Abs(hi) + 2*math.Abs(lo) + sumErr*inv
		if lowest > hi+delta {
			r.tauHi, r.tauLo, r.k = hi, lo, int(k)
			r.bound = F(lowest + c) // exact: candidates lie within 2 of c
			return nil, true
		}

		// Not all of v is in the support, but tau(v) bounds tau from
		// below: collect the candidates above it.
		floor := hi - delta
		n = 0
		for _, x := range src {
			if float64(x)-c > floor {
				if n == len(buf) {
					buf = sc.grow(buf[:n], len(src))
				}
				buf[n] = x
				n++
			}
		}
		cand = buf[:n]
		sum, comp = compensatedSum(cand, c)
		lowest = float64(slices.Min(cand)) - c
	}

	passes, pruned := 0, false
	for {
		// Step 3: tau of the candidates, hi + lo, and a bound on its error
		// in the comparisons below, which leave lo out.
		kf := float64(len(cand))
		hi, lo, inv := simplexThreshold(sum, comp, len(cand))
		delta := 4*roundoff*math.Abs(hi) + 2*math.Abs(lo) + sumErr*inv
		if lowest > hi+delta {
			r.tauHi, r.tauLo, r.k, r.bound = hi, lo, len(cand), F(lowest+c)
			return cand, true
		}

		// Step 4: a cleanup pass.
		var kept []F
		kept, _, sum, comp, lowest = prune(cand, c, kf, sum, comp, extra, wmax)
		if len(kept) < len(cand) {
			cand = kept
			passes++
			if passes < 2*sparsemaxPasses {
				if passes >= sparsemaxPasses && !pruned {
					pruned = true
					cand = cand[:duchiPrune(cand, c)]
					sum, comp = compensatedSum(cand, c)
					lowest = float64(slices.Min(cand)) - c
				}
				continue
			}
			// The passes have not settled even after pruning: decide
			// what is left exactly, in expected linear time too.
		}

		// Step 5: some candidates lie within rounding of tau (or the
		// passes did not settle): decide them exactly. The candidates
		// above hi + delta are taken as in the support, which the exact
		// resolution certifies.
		cand = resolveTies(cand, c, hi+delta)
		sum, comp = compensatedSum(cand, c)
		r.tauHi, r.tauLo, _ = simplexThreshold(sum, comp, len(cand))
		r.bound, r.k = slices.Min(cand), len(cand)
		return cand, true
	}
}

// sumAbove returns, over the inputs x in src with k·(x-c) > bound, the sum
// of x-c as an unevaluated sum sum + comp, their number and the smallest
// x-c (or +Inf). It is the dense loop of step 2, in a function of its own
// so that its sum stays in a register. A NaN in src makes the sum NaN.
//
// It tracks the smallest x-c rather than the smallest x so that x is dead
// once converted: the compiler then converts a float32 into the register
// it was loaded in. CVTSS2SD writes only the low half of its destination,
// and a destination last written by the sum chain would tie each element's
// conversion to the previous element's sum, several times slower.
func sumAbove[F Float](src []F, c, k, bound float64) (sum, comp float64, count int,
	lowest float64) {

	lowest = math.Inf(1)
	for _, x := range src {
		w := float64(x) - c
		if k*w <= bound {
			continue
		}
		t := sum + w
		z := t - sum
		comp += (sum - (t - z)) + (w - z)
		sum = t
		count++
		if w < lowest {
			lowest = w
		}
	}
	return sum, comp, count, lowest
}

// simplexThreshold returns (S-1)/k as an unevaluated sum hi + lo accurate
// to about 2^-100 relative, where S = sum + comp is a compensated sum whose
// comp is the smaller part. |lo| is at most a few units in the last place
// of hi. It also returns 1/k.
func simplexThreshold(sum, comp float64, k int) (hi, lo, inv float64) {
	kf := float64(k)
	inv = 1 / kf
	dh, dl := knuthTwoSum(sum, -1)
	dl += comp
	hi = dh * inv
	// hi is within an ulp or two of dh/k, so its remainder is exact, and
	// so is its FMA.
	rem := math.FMA(-hi, kf, dh)
	lo = (rem + dl) * inv
	return hi, lo, inv
}

// knuthTwoSum returns s = fl(a+b) and the exact error a+b-s (Knuth's TwoSum).
// sampled.go has the same function as twoSum; they could move to stable.go.
func knuthTwoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// prune is a cleanup pass (Condat's last step) over the candidates cand,
// which with k - len(cand) more inputs (the maximum, before the filter
// stores it) make up a set v whose sum, shifted by c, is sum + comp. It
// drops, in place, each candidate certainly at or below rho(v), removing it
// from v at once, which raises rho for the candidates after it. It returns
// the candidates kept, the new k, sum and comp, and the smallest shifted
// candidate kept, or top if that is smaller.
func prune[F Float](cand []F, c, k, sum, comp, extra, top float64) (kept []F,
	k2, sum2, comp2, lowest float64) {

	bound := filterBound(sum+comp, k, extra)
	lowest = top
	j := 0
	for _, x := range cand {
		cand[j] = x // kept only if j advances; stored before x is converted
		w := float64(x) - c
		if k*w <= bound {
			var e float64
			sum, e = knuthTwoSum(sum, -w)
			comp += e
			k--
			bound = filterBound(sum+comp, k, extra)
			continue
		}
		j++
		if w < lowest {
			lowest = w
		}
	}
	return cand[:j], k, sum, comp, lowest
}

// compensatedSum returns the sum of the inputs in x shifted by c as an
// unevaluated sum sum + comp.
func compensatedSum[F Float](x []F, c float64) (sum, comp float64) {
	for _, v := range x {
		var e float64
		sum, e = knuthTwoSum(sum, float64(v)-c)
		comp += e
	}
	return sum, comp
}

// duchiPrune is the pivoting method of Duchi et al. (2008), used when the
// cleanup passes do not settle: it moves to the front of x a set of inputs
// that holds the support and exceeds it only by inputs within rounding of
// the threshold, and returns its size, in expected linear time. Each round
// picks a pivot p at random and decides whether p is in the support from
// the inputs at least p; if it may be, they all are, and the search goes on
// among the smaller ones; if it certainly is not, the search goes on among
// the larger ones. The pivots come from a generator seeded by len(x), so a
// given input always takes the same path.
func duchiPrune[F Float](x []F, c float64) int {
	lo, hi := 0, len(x)
	var sum, comp, abs float64 // the taken inputs, x[:lo], shifted by c
	rng := uint64(len(x))*0x9e3779b97f4a7c15 | 1
	for lo < hi {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		p := x[lo+int(rng%uint64(hi-lo))]
		gt, eq := partition3(x[lo:hi], p)

		gs, gc, ga := sum, comp, abs
		for _, v := range x[lo : lo+gt+eq] {
			w := float64(v) - c
			var e float64
			gs, e = knuthTwoSum(gs, w)
			gc += e
			ga += math.Abs(w)
		}
		k := float64(lo + gt + eq)
		wp := float64(p) - c
		total := gs + gc

		// p is in the support iff 1 - Σ(w - wp) > 0 over the inputs at
		// least p; the margin bounds the rounding of that test, and a
		// doubtful pivot counts as in.
		g := 1 - (total - k*wp)
		margin := 8 * roundoff * (ga + math.Abs(total) + k*math.Abs(wp) + 1)
		if g > -margin {
			sum, comp, abs = gs, gc, ga
			lo += gt + eq
		} else {
			hi = lo + gt
		}
	}
	return lo
}

// partition3 rearranges x into the elements greater than p, then those
// equal to p, then those less, and returns the sizes of the first two
// groups.
func partition3[F Float](x []F, p F) (gt, eq int) {
	i, j, k := 0, 0, len(x)
	for j < k {
		switch v := x[j]; {
		case v > p:
			x[i], x[j] = x[j], x[i]
			i++
			j++
		case v < p:
			k--
			x[j], x[k] = x[k], x[j]
		default:
			j++
		}
	}
	return i, j - i
}

// resolveTies returns the support among the candidates, which hold it, when
// floating point cannot decide some of them. Those with shifted value above
// are taken as in the support: it moves them first and certifies that in
// exact arithmetic. It then finds which of the rest are in the support with
// the pivoting of duchiPrune, in expected linear time, but deciding each
// pivot p exactly with the test of the sort-based definition,
// 1 - Σ_{z > p}(z - p) > 0, in the fixed-point arithmetic of exactSum. If
// the certificate fails (the bound was not enough, which has not been seen
// to happen), it decides every candidate that way. Ties are taken or left
// together. The support ends up at the front of cand, which it returns.
func resolveTies[F Float](cand []F, c, above float64) []F {
	h := 0
	for i, x := range cand {
		if float64(x)-c > above {
			cand[h], cand[i] = cand[i], cand[h]
			h++
		}
	}

	// acc = 1 - Σ of the inputs taken so far, exactly.
	var acc exactSum
	acc.add(1, 1)
	for _, x := range cand[:h] {
		acc.add(-float64(x), 1)
	}
	rest, taken := cand[h:], h
	if h > 0 && !acc.positiveWith(float64(slices.Min(cand[:h])), taken) {
		acc = exactSum{}
		acc.add(1, 1)
		rest, taken = cand, 0
	}

	lo, hi := 0, len(rest)
	rng := uint64(len(rest))*0x9e3779b97f4a7c15 | 1
	for lo < hi {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		p := rest[lo+int(rng%uint64(hi-lo))]
		gt, eq := partition3(rest[lo:hi], p)
		g := acc
		for _, x := range rest[lo : lo+gt+eq] {
			g.add(-float64(x), 1)
		}
		if g.positiveWith(float64(p), taken+gt+eq) {
			acc = g
			taken += gt + eq
			lo += gt + eq
		} else {
			hi = lo + gt
		}
	}
	return cand[:taken]
}

// exactLimbs is the number of 32-bit limbs of an exactSum: enough for any
// finite float64 times any uint64 (2^1024 · 2^64, from 2^-1074), with room
// for 2^32 such terms.
const exactLimbs = 72

// exactSum holds a sum of products of float64s and integers exactly, as a
// fixed-point number with 2^-1074 as its unit: limb i counts units of
// 2^(32i-1074). The limbs are signed and carries are propagated lazily, so
// adding a term costs a few integer operations.
type exactSum struct {
	limb [exactLimbs]int64
	adds int
}

// add adds k·x to a, for a finite x.
func (a *exactSum) add(x float64, k uint64) {
	b := math.Float64bits(x)
	e := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	if e == 0 {
		e = 1 // subnormal: no implicit bit, and the exponent of the smallest normal
	} else {
		mant |= 1 << 52
	}
	if mant == 0 || k == 0 {
		return
	}

	// k·mant·2^(e-1075) = k·mant·2^p units, with p = e-1; spread the
	// product, shifted left by p mod 32, over five limbs from p/32.
	ph, pl := bits.Mul64(mant, k)
	p := e - 1
	i, sh := p/32, uint(p%32)
	w0 := pl << sh
	w1 := ph<<sh | pl>>(64-sh)
	w2 := ph >> (64 - sh) // Go shifts by 64 give 0, as sh = 0 needs
	const low = 1<<32 - 1
	parts := [5]int64{
		int64(w0 & low), int64(w0 >> 32), int64(w1 & low), int64(w1 >> 32), int64(w2 & low),
	}
	if b>>63 != 0 {
		for j, v := range parts {
			a.limb[i+j] -= v
		}
	} else {
		for j, v := range parts {
			a.limb[i+j] += v
		}
	}

	// Each limb gains less than 2^32 per add: carry before 2^31 adds.
	if a.adds++; a.adds == 1<<30 {
		a.normalize()
	}
}

// normalize propagates the carries: every limb but the top one ends in
// [0, 2^32), and the top one holds the sign.
func (a *exactSum) normalize() {
	for i := 0; i < exactLimbs-1; i++ {
		carry := a.limb[i] >> 32
		a.limb[i] -= carry << 32
		a.limb[i+1] += carry
	}
	a.adds = 0
}

// positiveWith reports whether a + k·x > 0, without changing a.
func (a *exactSum) positiveWith(x float64, k int) bool {
	t := *a
	t.add(x, uint64(k))
	t.normalize()
	if t.limb[exactLimbs-1] != 0 {
		return t.limb[exactLimbs-1] > 0
	}
	for _, v := range t.limb {
		if v != 0 {
			return true
		}
	}
	return false
}

// sparseScratch is where the solver's scratch memory comes from once the
// buffer it starts with (dst when that is free, or an array on the caller's
// stack) is full: a buffer borrowed from a pool, which release returns. The
// starting buffer is passed apart from it, so that the escape analysis sees
// that a stack array never reaches the pool.
type sparseScratch[F Float] struct {
	pooled *[]F
}

var (
	sparsePool32 = sync.Pool{New: func() any { return new([]float32) }}
	sparsePool64 = sync.Pool{New: func() any { return new([]float64) }}
)

// grow returns a buffer of n elements that starts with a copy of used.
func (s *sparseScratch[F]) grow(used []F, n int) []F {
	if s.pooled == nil {
		if is32[F]() {
			s.pooled = sparsePool32.Get().(*[]F)
		} else {
			s.pooled = sparsePool64.Get().(*[]F)
		}
	}
	if cap(*s.pooled) < n {
		*s.pooled = make([]F, n)
	}
	b := (*s.pooled)[:n]
	copy(b, used)
	return b
}

// release returns the borrowed buffer, if any, to its pool.
func (s *sparseScratch[F]) release() {
	if s.pooled == nil {
		return
	}
	if is32[F]() {
		sparsePool32.Put(s.pooled)
	} else {
		sparsePool64.Put(s.pooled)
	}
	s.pooled = nil
}
