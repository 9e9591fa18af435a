package softmax

import (
	"fmt"
	"math"
)

// Float is the set of element types the library computes in.
type Float interface {
	float32 | float64
}

// Softmax sets dst[i] = exp(src[i]-max) / sum over j of exp(src[j]-max).
//
// dst may be src; otherwise the two must not overlap. An empty src leaves
// dst untouched. Special values follow PyTorch: a NaN or +Inf anywhere in
// src, or every element -Inf, makes every output NaN; a -Inf element (a
// masked entry) gets exactly 0. Outputs below the smallest normal number
// may be flushed to zero.
//
// Softmax panics if dst and src have different lengths.
func Softmax[F Float](dst, src []F) {
	if len(dst) != len(src) {
		panic(lengthMismatch("Softmax", "dst", len(dst), "src", len(src)))
	}
	if len(src) == 0 {
		return
	}
	softmaxInto(dst, src)
}

// LogSoftmax sets dst[i] = src[i] - max - log(sum over j of
// exp(src[j]-max)), the logarithm of Softmax computed without forming it.
//
// dst may be src; otherwise the two must not overlap. Special values follow
// PyTorch: a NaN or +Inf anywhere, or every element -Inf, makes every
// output NaN; a -Inf element gets -Inf.
//
// LogSoftmax panics if dst and src have different lengths.
func LogSoftmax[F Float](dst, src []F) {
	if len(dst) != len(src) {
		panic(lengthMismatch("LogSoftmax", "dst", len(dst), "src", len(src)))
	}
	if len(src) == 0 {
		return
	}
	m, s, ok := normalizer(src)
	if !ok {
		fillNaN(dst)
		return
	}
	storeLogSoftmax(dst, src, m, F(math.Log(s)))
}

// LogSumExp returns log(sum over i of exp(x[i])), computed without
// overflow for any finite input.
//
// Special values follow PyTorch: NaN anywhere gives NaN; otherwise +Inf
// anywhere gives +Inf; an empty x or one whose every element is -Inf gives
// -Inf.
func LogSumExp[F Float](x []F) F {
	if len(x) == 0 {
		return F(math.Inf(-1))
	}
	m, s, ok := normalizer(x)
	if !ok {
		return logSumExpSpecial(x)
	}
	return F(float64(m) + math.Log(s))
}

// CrossEntropy returns the cross-entropy loss of logits against the class
// target, -log(softmax(logits)[target]). When grad is not nil it also sets
// grad to the gradient of the loss with respect to the logits,
// softmax(logits) - onehot(target); grad may be logits.
//
// Special values follow LogSoftmax: a NaN or +Inf logit, or every logit
// -Inf, gives a NaN loss and a NaN gradient; a target logit of -Inf among
// finite ones gives +Inf.
//
// CrossEntropy panics if target is not an index of logits, or if grad is
// not nil and has a different length from logits.
func CrossEntropy[F Float](grad, logits []F, target int) F {
	if target < 0 || target >= len(logits) {
		panic(fmt.Sprintf("softmax.CrossEntropy: target %d out of range [0, %d)",
			target, len(logits)))
	}
	if grad != nil && len(grad) != len(logits) {
		panic(lengthMismatch("CrossEntropy", "grad", len(grad), "logits", len(logits)))
	}
	xt := logits[target]

	var m F
	var s float64
	var ok bool
	if grad == nil {
		m, s, ok = normalizer(logits)
	} else {
		m, s, ok = softmaxInto(grad, logits)
		grad[target] -= 1
	}
	if !ok {
		return F(math.NaN())
	}
	return F((float64(m) - float64(xt)) + math.Log(s))
}

// Partial is the normalizer of one shard of a vector: the shard's maximum
// and the sum of exp(x-Max) over it. Partials of the shards of a vector
// merge, in any order and grouping, into the Partial of the whole, so a
// vocabulary split across goroutines or machines gets the exact
// LogSumExp, Softmax and LogSoftmax of the whole vector while each shard
// reads only its own logits.
//
// The zero value is not the Partial of an empty shard; use PartialOf(nil),
// which is {Max: -Inf, Sum: 0}. A shard holding NaN has Max and Sum NaN; a
// shard holding +Inf (and no NaN) has Max +Inf and Sum 1.
type Partial[F Float] struct {
	Max F // largest element of the shard
	Sum F // sum of exp(x-Max) over the shard
}

// PartialOf returns the Partial of the shard x.
func PartialOf[F Float](x []F) Partial[F] {
	if len(x) == 0 {
		return Partial[F]{Max: F(math.Inf(-1))}
	}
	m, s, ok := normalizer(x)
	if ok {
		return Partial[F]{Max: m, Sum: F(s)}
	}
	switch lse := logSumExpSpecial(x); {
	case lse != lse:
		return Partial[F]{Max: lse, Sum: lse}
	case lse > 0:
		return Partial[F]{Max: lse, Sum: 1}
	}
	return Partial[F]{Max: F(math.Inf(-1))}
}

// Merge returns the Partial of the concatenation of the shards p and q.
func (p Partial[F]) Merge(q Partial[F]) Partial[F] {
	switch {
	case p.Max != p.Max || q.Max != q.Max:
		nan := F(math.NaN())
		return Partial[F]{Max: nan, Sum: nan}
	case p.Sum == 0:
		return q
	case q.Sum == 0:
		return p
	case math.IsInf(float64(p.Max), 1) || math.IsInf(float64(q.Max), 1):
		return Partial[F]{Max: F(math.Inf(1)), Sum: 1}
	}
	if p.Max < q.Max {
		p, q = q, p
	}
	sum := float64(p.Sum) + float64(q.Sum)*math.Exp(float64(q.Max)-float64(p.Max))
	return Partial[F]{Max: p.Max, Sum: F(sum)}
}

// LogSumExp returns the LogSumExp of the shards merged into p.
func (p Partial[F]) LogSumExp() F {
	switch {
	case p.Max != p.Max || p.Sum != p.Sum:
		return F(math.NaN())
	case p.Sum == 0:
		return F(math.Inf(-1))
	case math.IsInf(float64(p.Max), 1):
		return p.Max
	}
	return F(float64(p.Max) + math.Log(float64(p.Sum)))
}

// ok reports whether p normalizes a vector with no special values.
func (p Partial[F]) ok() bool {
	return isFinite(p.Max) && p.Sum > 0 && !math.IsInf(float64(p.Sum), 0)
}

// Softmax sets dst to the part of the whole vector's Softmax that falls on
// the shard src, where p is the Partial of the whole vector (src's shard
// merged with every other). It reads src once. dst may be src.
//
// If p is not the Partial of a whole that includes src (an element of src
// above p.Max), the results are not a softmax. The special values of the
// whole follow Softmax: every output NaN.
//
// Softmax panics if dst and src have different lengths.
func (p Partial[F]) Softmax(dst, src []F) {
	if len(dst) != len(src) {
		panic(lengthMismatch("Partial.Softmax", "dst", len(dst), "src", len(src)))
	}
	if !p.ok() {
		fillNaN(dst)
		return
	}
	storeExpScaled(dst, src, p.Max, F(1/float64(p.Sum)))
}

// LogSoftmax sets dst to the part of the whole vector's LogSoftmax that
// falls on the shard src, where p is the Partial of the whole vector.
// dst may be src. Special values follow LogSoftmax.
//
// LogSoftmax panics if dst and src have different lengths.
func (p Partial[F]) LogSoftmax(dst, src []F) {
	if len(dst) != len(src) {
		panic(lengthMismatch("Partial.LogSoftmax", "dst", len(dst), "src", len(src)))
	}
	if !p.ok() {
		fillNaN(dst)
		return
	}
	storeLogSoftmax(dst, src, p.Max, F(math.Log(float64(p.Sum))))
}

// lengthMismatch formats the panic message for two slices whose lengths
// must agree.
func lengthMismatch(fn, a string, la int, b string, lb int) string {
	return fmt.Sprintf("softmax.%s: len(%s) = %d, len(%s) = %d; they must be equal",
		fn, a, la, b, lb)
}
