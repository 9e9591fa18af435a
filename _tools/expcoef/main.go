// Command expcoef derives the polynomial coefficients of the library's exp
// kernels with the Remez exchange algorithm, and prints them.
//
// The kernels reduce x to r = x - n*ln2 with |r| <= ln2/2 and compute
// exp(r) = 1 + r*P(r), where P has degree d-1. This program finds the P that
// minimizes the largest relative error of 1 + r*P(r) against exp(r) on that
// interval, then rounds each coefficient to the kernel's precision.
//
// Usage:
//
//	go run ./expcoef -degree 5 -float32
//	go run ./expcoef -degree 11
package main

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
)

func main() {
	degree := flag.Int("degree", 5, "degree of the polynomial 1 + r*P(r)")
	single := flag.Bool("float32", false, "round the coefficients to float32")
	flag.Parse()

	coef, maxErr := remez(*degree, math.Ln2/2)
	if *single {
		for i := range coef {
			coef[i] = float64(float32(coef[i]))
		}
	}
	fmt.Printf("// degree %d, max relative error %.3g before rounding\n", *degree, maxErr)
	for i, c := range coef {
		if *single {
			fmt.Printf("c%d = %v // %x\n", i+1, float32(c), float32(c))
		} else {
			fmt.Printf("c%d = %v // %x\n", i+1, c, c)
		}
	}
	fmt.Printf("// max relative error after rounding: %.3g\n", measure(coef, math.Ln2/2, *single))
}

// target is g(r) = (exp(r)-1)/r, so that 1 + r*P(r) approximates exp(r);
// weight is |r|/exp(r), turning an error in P into a relative error of exp.
func target(r float64) float64 {
	if r == 0 {
		return 1
	}
	return math.Expm1(r) / r
}

func weight(r float64) float64 { return math.Abs(r) / math.Exp(r) }

// remez returns the d coefficients of P (lowest power first) and the levelled
// error. The reference points start at Chebyshev nodes.
func remez(d int, h float64) ([]float64, float64) {
	m := d + 1 // unknowns: d coefficients and the levelled error
	pts := make([]float64, m)
	for i := range pts {
		pts[i] = -h * math.Cos(math.Pi*(float64(i)+0.5)/float64(m))
	}
	var coef []float64
	var e float64
	for iter := 0; iter < 60; iter++ {
		coef, e = solve(d, pts)
		next := extrema(coef, h, m)
		if next == nil {
			break
		}
		pts = next
	}
	return coef, math.Abs(e)
}

// solve solves sum_j c_j r_i^j + (-1)^i E / w(r_i) = g(r_i) in extended
// precision (big.Float Gaussian elimination), which keeps the degree-11 fit
// well above float64 noise.
func solve(d int, pts []float64) ([]float64, float64) {
	const prec = 200
	m := d + 1
	a := make([][]*big.Float, m)
	for i, r := range pts {
		row := make([]*big.Float, m+1)
		p := new(big.Float).SetPrec(prec).SetFloat64(1)
		br := new(big.Float).SetPrec(prec).SetFloat64(r)
		for j := 0; j < d; j++ {
			row[j] = new(big.Float).SetPrec(prec).Set(p)
			p.Mul(p, br)
		}
		s := 1.0
		if i%2 == 1 {
			s = -1
		}
		row[d] = new(big.Float).SetPrec(prec).SetFloat64(s / weight(r))
		row[m] = new(big.Float).SetPrec(prec).SetFloat64(target(r))
		a[i] = row
	}
	for col := 0; col < m; col++ {
		piv := col
		for i := col + 1; i < m; i++ {
			if new(big.Float).Abs(a[i][col]).Cmp(new(big.Float).Abs(a[piv][col])) > 0 {
				piv = i
			}
		}
		a[col], a[piv] = a[piv], a[col]
		for i := 0; i < m; i++ {
			if i == col || a[i][col].Sign() == 0 {
				continue
			}
			f := new(big.Float).SetPrec(prec).Quo(a[i][col], a[col][col])
			for j := col; j <= m; j++ {
				t := new(big.Float).SetPrec(prec).Mul(f, a[col][j])
				a[i][j].Sub(a[i][j], t)
			}
		}
	}
	out := make([]float64, m)
	for i := 0; i < m; i++ {
		q := new(big.Float).SetPrec(prec).Quo(a[i][m], a[i][i])
		out[i], _ = q.Float64()
	}
	return out[:d], out[d]
}

// errAt is the weighted error of P at r, computed in extended precision so
// that errors far below float64's resolution (the degree-11 fit) are seen.
func errAt(coef []float64, r float64) float64 {
	const prec = 160
	br := new(big.Float).SetPrec(prec).SetFloat64(r)
	p := new(big.Float).SetPrec(prec)
	for j := len(coef) - 1; j >= 0; j-- {
		p.Mul(p, br)
		p.Add(p, new(big.Float).SetPrec(prec).SetFloat64(coef[j]))
	}

	// g(r) = sum r^k/(k+1)! for k >= 0.
	g := new(big.Float).SetPrec(prec)
	term := new(big.Float).SetPrec(prec).SetFloat64(1)
	for k := 0; k < 40; k++ {
		g.Add(g, term)
		term.Mul(term, br)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+2)))
	}
	p.Sub(p, g)
	e, _ := p.Float64()
	return e * weight(r)
}

// extrema returns m alternating extrema of the error on a fine grid, or nil
// when it cannot find them.
func extrema(coef []float64, h float64, m int) []float64 {
	const grid = 20000
	var xs, es []float64
	prev := 0.0
	for i := 0; i <= grid; i++ {
		r := -h + 2*h*float64(i)/grid
		e := errAt(coef, r)
		if len(xs) > 0 && math.Signbit(e) == math.Signbit(prev) {
			if math.Abs(e) > math.Abs(es[len(es)-1]) {
				xs[len(xs)-1], es[len(es)-1] = r, e
			}
		} else if e != 0 {
			xs, es = append(xs, r), append(es, e)
		}
		if e != 0 {
			prev = e
		}
	}
	for len(xs) > m {
		// Drop the smaller end.
		if math.Abs(es[0]) < math.Abs(es[len(es)-1]) {
			xs, es = xs[1:], es[1:]
		} else {
			xs, es = xs[:len(xs)-1], es[:len(es)-1]
		}
	}
	if len(xs) < m {
		fmt.Fprintln(os.Stderr, "expcoef: fewer extrema than expected; stopping")
		return nil
	}
	return xs
}

// measure returns the largest relative error of 1 + r*P(r) against exp(r)
// on a grid, with P evaluated in the kernel's precision.
func measure(coef []float64, h float64, single bool) float64 {
	worst := 0.0
	for i := 0; i <= 100000; i++ {
		r := -h + 2*h*float64(i)/100000
		var y float64
		if single {
			rf := float32(r)
			p := float32(0)
			for j := len(coef) - 1; j >= 0; j-- {
				p = p*rf + float32(coef[j])
			}
			y = float64(1 + rf*p)
			r = float64(rf)
		} else {
			p := 0.0
			for j := len(coef) - 1; j >= 0; j-- {
				p = p*r + coef[j]
			}
			y = 1 + r*p
		}
		exact := math.Exp(r)
		worst = max(worst, math.Abs(y-exact)/exact)
	}
	return worst
}
