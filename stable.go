package softmax

import (
	"math"
	"unsafe"
)

// This file holds the numerics shared by every entry point: the choice
// between three passes and two, the blocked and compensated summation
// that keeps the accuracy contract at any length, and the special values.

// sumBlock is the number of elements each kernel call sums before the sum
// is folded into a float64 compensated total, unless the kernel asks for
// less (sumBlockOf). Within a block the SIMD kernels accumulate in the
// element type, in many lanes, folding each lane into float64 every
// sumRun terms, which keeps the sums within the contract at every length
// for the cost of one call per block.
const sumBlock = 4096

// sumBlocks holds, per kernel, a smaller block for kernels that cannot
// bound their lanes' runs of additions themselves: a block of
// lanes*sumRun elements gives each lane at most sumRun terms. Zero means
// sumBlock.
var sumBlocks [len(kernelNames)]struct{ f32, f64 int }

// sumBlockOf returns the block length of the active kernel for F.
func sumBlockOf[F Float]() int {
	b := sumBlocks[activeKernel].f64
	if is32[F]() {
		b = sumBlocks[activeKernel].f32
	}
	if b == 0 {
		return sumBlock
	}
	return b
}

// is32 reports whether F is float32. It is a constant in each
// instantiation, so the branches it guards compile away.
func is32[F Float]() bool {
	var zero F
	return unsafe.Sizeof(zero) == 4
}

// as32 and as64 view a []F as the concrete slice type it is, capacity
// included: the amd64 sum kernels prefetch the next block from it.
func as32[F Float](x []F) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), cap(x))[:len(x)]
}

func as64[F Float](x []F) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), cap(x))[:len(x)]
}

// sizeOf is the size of F in bytes.
func sizeOf[F Float]() int {
	var zero F
	return int(unsafe.Sizeof(zero))
}

// lowest is the most negative finite F.
func lowest[F Float]() F {
	lo := -math.MaxFloat64
	if is32[F]() {
		lo = -math.MaxFloat32
	}
	return F(lo)
}

func isFinite[F Float](x F) bool { return !math.IsInf(float64(x), 0) && x == x }

// neumaier is a compensated (Kahan-Babuska-Neumaier) running sum.
type neumaier struct{ sum, c float64 }

func (a *neumaier) add(x float64) {
	t := a.sum + x
	if math.Abs(a.sum) >= math.Abs(x) {
		a.c += (a.sum - t) + x
	} else {
		a.c += (x - t) + a.sum
	}
	a.sum = t
}

func (a *neumaier) total() float64 { return a.sum + a.c }

// The functions below route one operation on []F to the kernel for its
// element type.

func maxOf[F Float](x []F) F {
	if is32[F]() {
		return F(maxOf32(as32(x)))
	}
	return F(maxOf64(as64(x)))
}

func scaleBy[F Float](x []F, s F) {
	if is32[F]() {
		scale32(as32(x), float32(s))
		return
	}
	scale64(as64(x), float64(s))
}

// storeExpScaled sets dst[i] = exp(x[i]-m) * c, where m is finite and at
// least every finite x[i].
func storeExpScaled[F Float](dst, x []F, m, c F) {
	if is32[F]() {
		storeExpScaled32(as32(dst), as32(x), newExpShift(float32(m)), float32(c))
		return
	}
	storeExpScaled64(as64(dst), as64(x), newExpShift(float64(m)), float64(c))
}

func storeLogSoftmax[F Float](dst, x []F, shift, logSum F) {
	if is32[F]() {
		storeLogSoftmax32(as32(dst), as32(x), float32(shift), float32(logSum))
		return
	}
	storeLogSoftmax64(as64(dst), as64(x), float64(shift), float64(logSum))
}

// sumExp returns the sum of exp(x[i]-shift), block by block.
func sumExp[F Float](x []F, shift F) float64 {
	var acc neumaier
	block := sumBlockOf[F]()
	for len(x) > 0 {
		n := min(len(x), block)
		if is32[F]() {
			acc.add(sumExp32(as32(x[:n]), float32(shift)))
		} else {
			acc.add(sumExp64(as64(x[:n]), float64(shift)))
		}
		x = x[n:]
	}
	return acc.total()
}

// storeExp sets dst[i] = exp(x[i]-m) and returns their sum, block by
// block. m is finite and at least every finite x[i].
func storeExp[F Float](dst, x []F, m F) float64 {
	var acc neumaier
	block := sumBlockOf[F]()
	var s32 expShift[float32]
	var s64 expShift[float64]
	if is32[F]() {
		s32 = newExpShift(float32(m))
	} else {
		s64 = newExpShift(float64(m))
	}
	for len(x) > 0 {
		n := min(len(x), block)
		if is32[F]() {
			acc.add(storeExp32(as32(dst[:n]), as32(x[:n]), s32))
		} else {
			acc.add(storeExp64(as64(dst[:n]), as64(x[:n]), s64))
		}
		dst, x = dst[n:], x[n:]
	}
	return acc.total()
}

// maxSumExp returns the maximum m of x and the sum of exp(x[i]-m), reading
// x once: each block's (max, sum) from the kernel is merged into the
// running pair. Its results follow the kernels' contract: a NaN sum when x
// holds NaN or +Inf, and (lowest, 0) when x holds only -Inf.
func maxSumExp[F Float](x []F) (F, float64) {
	m := lowest[F]()
	var acc neumaier
	block := sumBlockOf[F]()
	for len(x) > 0 {
		n := min(len(x), block)
		var bm F
		var bs float64
		if is32[F]() {
			m32, s := maxSumExp32(as32(x[:n]))
			bm, bs = F(m32), s
		} else {
			m64, s := maxSumExp64(as64(x[:n]))
			bm, bs = F(m64), s
		}
		if bs != bs {
			return bm, bs
		}
		if bm > m {
			// Rescale what was summed so far to the new maximum.
			f := math.Exp(float64(m) - float64(bm))
			acc.sum *= f
			acc.c *= f
			m = bm
		} else {
			bs *= math.Exp(float64(bm) - float64(m))
		}
		acc.add(bs)
		x = x[n:]
	}
	return m, acc.total()
}

// normalizer returns the maximum m of x and s = sum of exp(x[i]-m), with
// ok reporting whether x is free of special cases: no NaN, no +Inf, and
// not every element -Inf. x is not empty. When ok is false, m and s mean
// nothing; classify tells the cases apart.
func normalizer[F Float](x []F) (m F, s float64, ok bool) {
	if useTwoPass(len(x) * sizeOf[F]()) {
		m, s = maxSumExp(x)
	} else {
		m = maxOf(x)
		if !isFinite(m) {
			return m, 0, false
		}
		s = sumExp(x, m)
	}
	return m, s, s > 0 && !math.IsInf(s, 0)
}

// classify reports whether x holds a NaN and whether it holds +Inf. It is
// only called on the rare path where a kernel's result was not finite.
func classify[F Float](x []F) (hasNaN, hasPosInf bool) {
	for _, v := range x {
		if v != v {
			return true, false
		}
		if math.IsInf(float64(v), 1) {
			hasPosInf = true
		}
	}
	return false, hasPosInf
}

// logSumExpSpecial is LogSumExp of a non-empty x that normalizer rejected:
// NaN if x holds NaN, otherwise +Inf if it holds +Inf, otherwise (every
// element -Inf) -Inf.
func logSumExpSpecial[F Float](x []F) F {
	hasNaN, hasPosInf := classify(x)
	switch {
	case hasNaN:
		return F(math.NaN())
	case hasPosInf:
		return F(math.Inf(1))
	}
	return F(math.Inf(-1))
}

func fillNaN[F Float](x []F) {
	nan := F(math.NaN())
	for i := range x {
		x[i] = nan
	}
}

// softmaxInto sets dst = softmax(src) and returns the normalizer it used,
// with ok false (and dst all NaN) in the special cases. src is not empty
// and dst has its length.
func softmaxInto[F Float](dst, src []F) (m F, s float64, ok bool) {
	if useTwoPass(2 * len(src) * sizeOf[F]()) {
		// Two passes: one online pass for the normalizer, one that
		// recomputes each exponential and writes it already scaled.
		m, s = maxSumExp(src)
		if !(s > 0 && !math.IsInf(s, 0)) {
			fillNaN(dst)
			return m, s, false
		}
		storeExpScaled(dst, src, m, F(1/s))
		return m, s, true
	}

	// Three passes: the maximum, the exponentials stored and summed, the
	// scale by the reciprocal of the sum.
	m = maxOf(src)
	if !isFinite(m) {
		fillNaN(dst)
		return m, 0, false
	}
	s = storeExp(dst, src, m)
	if s != s {
		fillNaN(dst)
		return m, s, false
	}
	scaleBy(dst, F(1/s))
	return m, s, true
}
