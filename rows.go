package softmax

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// The row-wise forms apply the vector functions to each row of a batch.
// A batch is row-major: row r of x is x[r*stride : r*stride+cols], the
// layout of a C array, of gonum's mat.Dense and of most tensors. dst uses
// the same layout as src and may be src.

// SoftmaxRows applies Softmax to each of the rows of src, writing dst.
//
// It panics if rows or cols is negative, stride is less than cols, or a
// slice is too short for the layout.
func SoftmaxRows[F Float](dst, src []F, rows, cols, stride int) {
	checkLayout("SoftmaxRows", "src", len(src), rows, cols, stride)
	checkLayout("SoftmaxRows", "dst", len(dst), rows, cols, stride)
	if cols == 0 {
		return
	}
	for r := 0; r < rows; r++ {
		o := r * stride
		softmaxInto(dst[o:o+cols], src[o:o+cols])
	}
}

// LogSoftmaxRows applies LogSoftmax to each of the rows of src, writing
// dst.
//
// It panics if rows or cols is negative, stride is less than cols, or a
// slice is too short for the layout.
func LogSoftmaxRows[F Float](dst, src []F, rows, cols, stride int) {
	checkLayout("LogSoftmaxRows", "src", len(src), rows, cols, stride)
	checkLayout("LogSoftmaxRows", "dst", len(dst), rows, cols, stride)
	for r := 0; r < rows; r++ {
		o := r * stride
		LogSoftmax(dst[o:o+cols], src[o:o+cols])
	}
}

// LogSumExpRows sets dst[r] to the LogSumExp of row r of src.
//
// It panics if len(dst) is not rows, if rows or cols is negative, stride
// is less than cols, or src is too short for the layout.
func LogSumExpRows[F Float](dst, src []F, rows, cols, stride int) {
	checkLayout("LogSumExpRows", "src", len(src), rows, cols, stride)
	if len(dst) != rows {
		panic(fmt.Sprintf("softmax.LogSumExpRows: len(dst) = %d, want rows = %d", len(dst), rows))
	}
	for r := range dst {
		o := r * stride
		dst[r] = LogSumExp(src[o : o+cols])
	}
}

// CrossEntropyRows returns the sum over rows of CrossEntropy(row r of
// logits, targets[r]); the batch has len(targets) rows. When grad is not
// nil it receives, row by row, the gradient of the returned sum (divide the
// sum and the gradient by the number of rows for the mean). grad may be
// logits.
//
// It panics if a target is out of range, if cols or stride is invalid, or
// a slice is too short for the layout.
func CrossEntropyRows[F Float](grad, logits []F, targets []int, cols, stride int) F {
	rows := len(targets)
	checkLayout("CrossEntropyRows", "logits", len(logits), rows, cols, stride)
	if grad != nil {
		checkLayout("CrossEntropyRows", "grad", len(grad), rows, cols, stride)
	}
	var total float64
	for r, t := range targets {
		if t < 0 || t >= cols {
			panic(fmt.Sprintf("softmax.CrossEntropyRows: targets[%d] = %d out of range [0, %d)",
				r, t, cols))
		}
		o := r * stride
		var g []F
		if grad != nil {
			g = grad[o : o+cols]
		}
		total += float64(CrossEntropy(g, logits[o:o+cols], t))
	}
	return F(total)
}

// SoftmaxDense applies Softmax to each row of src, writing dst, which must
// have the same dimensions and may be src.
func SoftmaxDense(dst, src *mat.Dense) {
	d, s := denseRows("SoftmaxDense", dst, src)
	for r := 0; r < s.Rows; r++ {
		Softmax(d.Data[r*d.Stride:r*d.Stride+d.Cols], s.Data[r*s.Stride:r*s.Stride+s.Cols])
	}
}

// LogSoftmaxDense applies LogSoftmax to each row of src, writing dst,
// which must have the same dimensions and may be src.
func LogSoftmaxDense(dst, src *mat.Dense) {
	d, s := denseRows("LogSoftmaxDense", dst, src)
	for r := 0; r < s.Rows; r++ {
		LogSoftmax(d.Data[r*d.Stride:r*d.Stride+d.Cols], s.Data[r*s.Stride:r*s.Stride+s.Cols])
	}
}

// LogSumExpDense sets dst[r] to the LogSumExp of row r of src. It panics
// if len(dst) is not the number of rows.
func LogSumExpDense(dst []float64, src *mat.Dense) {
	s := src.RawMatrix()
	if len(dst) != s.Rows {
		panic(fmt.Sprintf("softmax.LogSumExpDense: len(dst) = %d, want %d rows", len(dst), s.Rows))
	}
	for r := range dst {
		dst[r] = LogSumExp(s.Data[r*s.Stride : r*s.Stride+s.Cols])
	}
}

// CrossEntropyDense returns the sum over the rows of logits of their
// CrossEntropy against targets, one target per row. When grad is not nil
// it must have the dimensions of logits (it may be logits) and receives
// the gradient of the sum.
func CrossEntropyDense(grad, logits *mat.Dense, targets []int) float64 {
	l := logits.RawMatrix()
	if len(targets) != l.Rows {
		panic(fmt.Sprintf("softmax.CrossEntropyDense: len(targets) = %d, want %d rows",
			len(targets), l.Rows))
	}
	var g blas64.General
	if grad != nil {
		g, _ = denseRows("CrossEntropyDense", grad, logits)
	}
	var total float64
	for r, t := range targets {
		if t < 0 || t >= l.Cols {
			panic(fmt.Sprintf("softmax.CrossEntropyDense: targets[%d] = %d out of range [0, %d)",
				r, t, l.Cols))
		}
		var gr []float64
		if grad != nil {
			gr = g.Data[r*g.Stride : r*g.Stride+g.Cols]
		}
		total += CrossEntropy(gr, l.Data[r*l.Stride:r*l.Stride+l.Cols], t)
	}
	return total
}

// denseRows returns the raw matrices of dst and src after checking that
// their dimensions agree.
func denseRows(fn string, dst, src *mat.Dense) (d, s blas64.General) {
	d, s = dst.RawMatrix(), src.RawMatrix()
	if d.Rows != s.Rows || d.Cols != s.Cols {
		panic(fmt.Sprintf("softmax.%s: dimensions differ: %d×%d and %d×%d",
			fn, d.Rows, d.Cols, s.Rows, s.Cols))
	}
	return d, s
}

// checkLayout panics unless a slice of length n holds rows rows of cols
// elements, stride apart.
func checkLayout(fn, name string, n, rows, cols, stride int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("softmax.%s: negative dimensions %d×%d", fn, rows, cols))
	}
	if rows > 1 && stride < cols {
		panic(fmt.Sprintf("softmax.%s: stride %d is less than cols %d", fn, stride, cols))
	}
	if rows == 0 {
		return
	}
	if need := (rows-1)*stride + cols; rows > 1 && stride > (math.MaxInt-cols)/(rows-1) || n < need {
		panic(fmt.Sprintf("softmax.%s: len(%s) = %d is too short for %d rows of %d with stride %d",
			fn, name, n, rows, cols, stride))
	}
}
