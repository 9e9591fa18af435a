// Command asmgen generates simd_amd64.s, the AVX2+FMA and AVX-512F kernels
// of the softmax package, with avo.
//
// Every kernel is written once here and emitted four times: for 256-bit
// (AVX2) and 512-bit (AVX-512) registers, and for float32 and float64
// elements. Regenerate with
//
//	cd _tools && go run ./asmgen -out ../simd_amd64.s
//
// and check that the committed file is current with the package test
// TestAssemblyIsGenerated (or `git diff --exit-code simd_amd64.s` after the
// command above).
//
// # The exponential
//
// The exp kernels reduce the argument as the contract in kernels.md asks:
// with v = x - a (exact), t = v*log2(e) - mu*log2(e), k = round(t),
// r = ((v - k*ln2hi) - mu) - k*ln2lo and exp(x-m) = 2^(k-j) * (1 + r*P(r)).
// The rounding adds a "magic" constant M = 1.5*2^p + bias - j to t, where p
// is the number of mantissa bits: the sum is an integer in the range where
// floats are spaced by 1, so it rounds t to k, and its low mantissa bits
// hold k + bias - j, which shifted into the exponent field is 2^(k-j).
// Subtracting M again gives k as a float. Lanes with v below vmin (where
// the result falls under the smallest normal number, and for -Inf) are
// zeroed by a mask: the zeroing mask of the last multiply on AVX-512, an
// AND on AVX2. NaN passes the mask and comes out NaN.
//
// P is the minimax polynomial from ./expcoef: degree 5 for float32 (1.6e-7
// relative), degree 11 for float64 (3.4e-16). The AVX-512 float64 kernels
// reduce further with a table of 2^(i/16) and need only a degree-7 Taylor
// polynomial (see table16).
//
// # Loops and tails
//
// Each loop runs unrolled over several registers, then one register at a
// time, then once with a mask over the last partial register: an opmask
// with fault suppression on AVX-512, VMASKMOVPS/PD on AVX2. The
// element-wise kernels start with a masked head that aligns the
// destination (see stream). No kernel reads or writes memory outside its
// slices; sumExp prefetches past the end of x, within its capacity, which
// is a hint that neither faults nor returns data.
package main

import (
	"fmt"
	"maps"
	"math"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Polynomial coefficients c1..cd of exp(r) ~ 1 + r*(c1 + r*(c2 + ...)),
// from `go run ./expcoef -degree 5 -float32` and `-degree 11`.
var (
	coef32 = []float64{
		0x1.fffff6p-01, 0x1.fffdc6p-02, 0x1.555a6ap-03, 0x1.573a54p-05, 0x1.0fa834p-07,
	}
	coef64 = []float64{
		0x1p+00, 0x1.0000000000009p-01, 0x1.555555555570fp-03, 0x1.5555555550bafp-05,
		0x1.11111110c6de9p-07, 0x1.6c16c181b10bcp-10, 0x1.a01a02c00fad8p-13,
		0x1.a019a566a0a3bp-16, 0x1.71dc55f5f96ap-19, 0x1.289f5c8514353p-22,
		0x1.b111b18c2baccp-26,
	}
)

// kernel is one target: a register width and an element type.
type kernel struct {
	name string // "AVX2" or "AVX512", the suffix of the function names
	wide bool   // 512-bit registers and opmasks
	f64  bool
}

func (k kernel) vbytes() int { return map[bool]int{false: 32, true: 64}[k.wide] }
func (k kernel) esize() int  { return map[bool]int{false: 4, true: 8}[k.f64] }
func (k kernel) lanes() int  { return k.vbytes() / k.esize() }
func (k kernel) bits() string {
	if k.f64 {
		return "64"
	}
	return "32"
}
func (k kernel) goType() string { return "float" + k.bits() }

func (k kernel) vec() VecVirtual {
	if k.wide {
		return ZMM()
	}
	return YMM()
}

// ps picks the single- or double-precision form of an instruction.
func (k kernel) ps(s, d func(...Op)) func(...Op) {
	if k.f64 {
		return d
	}
	return s
}

func (k kernel) add(ops ...Op)     { k.ps(VADDPS, VADDPD)(ops...) }
func (k kernel) sub(ops ...Op)     { k.ps(VSUBPS, VSUBPD)(ops...) }
func (k kernel) mul(ops ...Op)     { k.ps(VMULPS, VMULPD)(ops...) }
func (k kernel) max(ops ...Op)     { k.ps(VMAXPS, VMAXPD)(ops...) }
func (k kernel) mov(ops ...Op)     { k.ps(VMOVUPS, VMOVUPD)(ops...) }
func (k kernel) fma213(ops ...Op)  { k.ps(VFMADD213PS, VFMADD213PD)(ops...) }
func (k kernel) fma231(ops ...Op)  { k.ps(VFMADD231PS, VFMADD231PD)(ops...) }
func (k kernel) fnma231(ops ...Op) { k.ps(VFNMADD231PS, VFNMADD231PD)(ops...) }
func (k kernel) cmp(ops ...Op)     { k.ps(VCMPPS, VCMPPD)(ops...) }
func (k kernel) bcast(ops ...Op)   { k.ps(VBROADCASTSS, VBROADCASTSD)(ops...) }

// The tables of constants, one 32-byte vector each, shared by the kernels
// of one element type (the AVX-512 kernels broadcast the first element).
var tables = map[string]Mem{}

func declareTables() {
	for _, f64 := range []bool{false, true} {
		k := kernel{f64: f64}
		coef := coef32
		bias, mant, expMin := 127.0, 23, -87.6
		if f64 {
			coef, bias, mant, expMin = coef64, 1023, 52, -708.7
		}
		// The Cody-Waite split of ln2: hi + lo is ln2 to about twice the
		// precision of the element type (math.Ln2 alone is not enough
		// for float64, where k reaches 1074).
		ln2hi := float64(float32(math.Ln2))
		ln2lo := math.Ln2 - ln2hi
		if f64 {
			ln2hi, ln2lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
		}
		vals := map[string]float64{
			"log2e":  math.Log2E,
			"ln2hi":  ln2hi,
			"ln2lo":  ln2lo,
			"magic":  1.5*math.Ldexp(1, mant) + bias,
			"expmin": expMin,
			"one":    1,
		}
		if f64 {
			// The table-driven float64 exp of the AVX-512 kernels (see
			// table16): k counts sixteenths of ln2, and the polynomial is
			// the Taylor series to degree 7, within 1.2e-18 on |r| <= ln2/32.
			vals["log2e16"] = 16 * math.Log2E
			vals["ln2hi16"] = ln2hi / 16
			vals["ln2lo16"] = ln2lo / 16
			vals["magic16"] = 1.5*math.Ldexp(1, mant) + 16*bias
			fact := 1.0
			for i := 1; i <= 7; i++ {
				fact *= float64(i)
				vals[fmt.Sprintf("t%d", i)] = 1 / fact
			}
		}
		for i, c := range coef {
			vals[fmt.Sprintf("c%d", i+1)] = c
		}
		for _, name := range slices.Sorted(maps.Keys(vals)) {
			sym := "const" + k.bits() + "_" + name
			m := GLOBL(sym, RODATA|NOPTR)
			for off := 0; off < 32; off += k.esize() {
				// As bits: avo prints an integral float as an integer.
				if f64 {
					DATA(off, U64(math.Float64bits(vals[name])))
				} else {
					DATA(off, U32(math.Float32bits(float32(vals[name]))))
				}
			}
			tables[k.bits()+name] = m
		}
	}

	// Tail masks: for AVX-512, tailmask16[n] has the low n bits set; for
	// AVX2, 32 bytes of ones then 32 of zeros, read from 32 - n*size.
	m := GLOBL("tailmask16", RODATA|NOPTR)
	for n := 0; n < 16; n++ {
		DATA(2*n, U16(uint16(1)<<n-1))
	}
	tables["tailmask16"] = m
	m = GLOBL("tailmaskbytes", RODATA|NOPTR)
	for i := 0; i < 64; i += 8 {
		v := uint64(0)
		if i < 32 {
			v = math.MaxUint64
		}
		DATA(i, U64(v))
	}
	tables["tailmaskbytes"] = m

	// exp2table16[i] holds the bits of 2^(i/16) without its exponent
	// field, less i<<48: see table16.
	m = GLOBL("exp2table16", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		b := math.Float64bits(math.Exp2(float64(i)/16)) - 1023<<52 - uint64(i)<<48
		DATA(8*i, U64(b))
	}
	tables["exp2table16"] = m
}

// fn is the state of the function being generated.
type fn struct {
	kernel
	unroll int
	align  bool          // see stream
	prefix string        // of the labels of the next loop
	tailK  OpmaskVirtual // AVX-512: lanes of the partial last register
	tailY  VecVirtual    // AVX2: the same as a vector of all-ones lanes
	fold   func()        // run every sumRun unrolled iterations; see sumRun
}

// sumRun is the number of unrolled iterations after which a summing kernel
// folds its accumulators into a float64 accumulator, so that no lane adds
// more than about sumRun terms in a row. Each addition rounds by up to half
// an ulp of the lane's running sum; a lane holding one dominant term that
// then adds many terms just under half an ulp of it loses every one of
// them, which over a 4096-element block reaches 4e-6 in float32 and 1.4e-14
// in float64, past the contract. It matches sumRun in kernels_generic.go.
const sumRun = 16

func (k kernel) begin(name, sig string, unroll int, doc ...string) *fn {
	TEXT(name+k.bits()+k.name, NOSPLIT, sig)
	Doc(doc...)
	return &fn{kernel: k, unroll: unroll}
}

// constant returns a table constant: in a register on AVX-512, as a memory
// operand on AVX2, where 16 registers are too few to hold them all.
//
// TODO: the AVX2 loops leave about five registers free; holding the most
// used constants there, and replacing the compare and AND of the exp mask
// by a clamp of v that makes 2^(k-j) exactly 0, would save about 6% of the
// AVX2 exp loops.
func (f *fn) constant(name string) Op {
	m := tables[f.bits()+name]
	if !f.wide {
		return m
	}
	r := f.vec()
	f.bcast(m, r)
	return r
}

// vector returns r as an operand for the loop: itself on AVX-512; on AVX2,
// a stack slot it is stored to, so that it can be a memory operand.
func (f *fn) vector(r VecVirtual) Op {
	if f.wide {
		return r
	}
	slot := AllocLocal(32)
	f.mov(r, slot)
	return slot
}

// param broadcasts the scalar argument name.
func (f *fn) param(name string) Op {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	r := f.vec()
	f.bcast(b.Addr, r)
	return f.vector(r)
}

// load reads the register-sized block at off bytes from base; in the tail,
// only the lanes of the tail mask (the others are zero).
func (f *fn) load(base Register, off int, tail bool) VecVirtual {
	r := f.vec()
	m := Mem{Base: base, Disp: off}
	switch {
	case !tail:
		f.mov(m, r)
	case f.wide && f.f64:
		VMOVUPD_Z(m, f.tailK, r)
	case f.wide:
		VMOVUPS_Z(m, f.tailK, r)
	case f.f64:
		VMASKMOVPD(m, f.tailY, r)
	default:
		VMASKMOVPS(m, f.tailY, r)
	}
	return r
}

func (f *fn) store(r VecVirtual, base Register, off int, tail bool) {
	m := Mem{Base: base, Disp: off}
	switch {
	case !tail:
		f.mov(r, m)
	case f.wide:
		f.mov(r, f.tailK, m)
	case f.f64:
		VMASKMOVPD(r, f.tailY, m)
	default:
		VMASKMOVPS(r, f.tailY, m)
	}
}

// stream emits the loop over the n elements at the pointers ptrs. body
// emits the work on len(offs) registers whose blocks sit at the byte offsets
// offs from each pointer, under the mask set by setMask when tail is true;
// a body that accumulates uses one accumulator per register.
//
// If f.align is set, a masked head first brings ptrs[0] (the destination,
// where there is one) to a multiple of the register width, so that no
// access of the main loops to it splits a cache line; the other pointers
// are on their own. Only kernels whose results do not depend on which lanes
// the elements fall into do this: a sum's rounding would then depend on the
// alignment, and the same vector would get different results at different
// addresses. Then the unrolled loop runs, then a loop of one register, then
// the masked tail.
func (f *fn) stream(n Register, ptrs []Register, body func(offs []int, tail bool)) {
	w, vb := f.lanes(), f.vbytes()
	advance := func(bytes Op, elems Op) {
		for _, p := range ptrs {
			ADDQ(bytes, p)
		}
		SUBQ(elems, n)
	}

	if f.align {
		f.alignHead(n, ptrs, body)
	}

	if f.unroll > 1 {
		offs := make([]int, f.unroll)
		for u := range offs {
			offs[u] = u * vb
		}
		Comment(fmt.Sprintf("%d registers (%d elements) per iteration", f.unroll, f.unroll*w))
		var runs GPVirtual
		if f.fold != nil {
			runs = GP64()
			MOVQ(U32(sumRun), runs)
		}
		CMPQ(n, U32(f.unroll*w))
		JB(LabelRef(f.prefix + "single"))
		Label(f.prefix + "unrolled")
		body(offs, false)
		advance(U32(f.unroll*vb), U32(f.unroll*w))
		if f.fold != nil {
			Comment(fmt.Sprintf("Every %d iterations, fold the accumulators into float64", sumRun))
			DECQ(runs)
			JNZ(LabelRef(f.prefix + "nofold"))
			f.fold()
			MOVQ(U32(sumRun), runs)
			Label(f.prefix + "nofold")
		}
		CMPQ(n, U32(f.unroll*w))
		JAE(LabelRef(f.prefix + "unrolled"))
	}

	Comment("One register per iteration")
	Label(f.prefix + "single")
	CMPQ(n, U32(w))
	JB(LabelRef(f.prefix + "tail"))
	body([]int{0}, false)
	advance(U32(vb), U32(w))
	JMP(LabelRef(f.prefix + "single"))

	Comment("The last n < lanes elements, under a mask")
	Label(f.prefix + "tail")
	TESTQ(n, n)
	JZ(LabelRef(f.prefix + "done"))
	f.setMask(n)
	body([]int{0}, true)
	Label(f.prefix + "done")
}

// alignHead emits the masked head of stream.
func (f *fn) alignHead(n Register, ptrs []Register, body func(offs []int, tail bool)) {
	Comment("Masked head up to the first aligned address")
	head := GP64()
	MOVQ(ptrs[0], head)
	NEGQ(head)
	ANDQ(U32(f.vbytes()-1), head)
	SHRQ(U8(f.log2Size()), head)
	CMPQ(head, n)
	CMOVQHI(n, head)
	TESTQ(head, head)
	JZ(LabelRef(f.prefix + "aligned"))
	f.setMask(head)
	body([]int{0}, true)
	SHLQ(U8(f.log2Size()), head)
	for _, p := range ptrs {
		ADDQ(head, p)
	}
	SHRQ(U8(f.log2Size()), head)
	SUBQ(head, n)
	Label(f.prefix + "aligned")
}

func (k kernel) log2Size() uint8 { return map[bool]uint8{false: 2, true: 3}[k.f64] }

// setMask sets the tail mask to the first n lanes, 0 < n < lanes.
func (f *fn) setMask(n Register) {
	if f.wide {
		tbl := GP64()
		LEAQ(tables["tailmask16"], tbl)
		f.tailK = K()
		KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, f.tailK)
		return
	}
	idx := GP64()
	MOVQ(n, idx)
	SHLQ(U8(f.log2Size()), idx)
	NEGQ(idx)
	tbl := GP64()
	LEAQ(tables["tailmaskbytes"], tbl)
	f.tailY = YMM()
	VMOVDQU(Mem{Base: tbl, Index: idx, Scale: 1, Disp: 32}, f.tailY)
}

// reduce folds the vector r with op (add or max) until lane 0 holds the
// result, and returns lane 0's register as an XMM.
func (f *fn) reduce(r VecVirtual, op func(...Op), f64 bool) Op {
	t := f.vec()
	if f.wide {
		if f64 {
			VSHUFF64X2(U8(0x4e), r, r, t)
			op(t, r, r)
			VSHUFF64X2(U8(0xb1), r, r, t)
			op(t, r, r)
			VPERMILPD(U8(0x55), r, t)
			op(t, r, r)
			return r.AsX()
		}
		VSHUFF32X4(U8(0x4e), r, r, t)
		op(t, r, r)
		VSHUFF32X4(U8(0xb1), r, r, t)
		op(t, r, r)
		VPERMILPS(U8(0x4e), r, t)
		op(t, r, r)
		VPERMILPS(U8(0xb1), r, t)
		op(t, r, r)
		return r.AsX()
	}
	x, tx := r.AsX(), t.AsX()
	VEXTRACTF128(U8(1), r, tx)
	op(tx, x, x)
	if f64 {
		VPERMILPD(U8(1), x, tx)
		op(tx, x, x)
		return x
	}
	VPERMILPS(U8(0x4e), x, tx)
	op(tx, x, x)
	VPERMILPS(U8(0xb1), x, tx)
	op(tx, x, x)
	return x
}

// combine adds (or maxes) the accumulators into the first.
func combine(accs []VecVirtual, op func(...Op)) VecVirtual {
	for len(accs) > 1 {
		half := (len(accs) + 1) / 2
		for i := half; i < len(accs); i++ {
			op(accs[i], accs[i-half], accs[i-half])
		}
		accs = accs[:half]
	}
	return accs[0]
}

// foldSum adds the accumulators into wide, which holds float64 lanes, and
// zeroes them. float32 lanes are widened to float64 first.
func (f *fn) foldSum(accs []VecVirtual, wide VecVirtual) {
	acc := combine(accs, f.add)
	if f.f64 {
		VADDPD(acc, wide, wide)
	} else {
		lo, hi := f.vec(), f.vec()
		if f.wide {
			VCVTPS2PD(acc.AsY(), lo)
			VEXTRACTF64X4(U8(1), acc, hi.AsY())
			VCVTPS2PD(hi.AsY(), hi)
		} else {
			VCVTPS2PD(acc.AsX(), lo)
			VEXTRACTF128(U8(1), acc, hi.AsX())
			VCVTPS2PD(hi.AsX(), hi)
		}
		VADDPD(lo, wide, wide)
		VADDPD(hi, wide, wide)
	}
	for _, a := range accs {
		f.zero(a)
	}
}

// foldingSum sets up the float64 accumulator of a summing kernel and the
// fold that stream runs every sumRun iterations, and returns the
// accumulator.
func (f *fn) foldingSum(accs []VecVirtual) VecVirtual {
	wide := f.vec()
	f.zero(wide)
	f.fold = func() { f.foldSum(accs, wide) }
	return wide
}

// returnSum folds the accumulators into wide, sums its lanes and stores the
// float64 result.
func (f *fn) returnSum(accs []VecVirtual, wide VecVirtual) {
	f.foldSum(accs, wide)
	x := f.reduce(wide, VADDPD, true)
	b, err := ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	VMOVSD(x, b.Addr)
	VZEROUPPER()
	RET()
}

func (f *fn) zero(r VecVirtual) {
	if f.wide {
		VPXORD(r, r, r) // VXORPS on ZMM needs AVX512DQ
	} else {
		VXORPS(r, r, r)
	}
}

func (f *fn) zeroAccs() []VecVirtual {
	accs := make([]VecVirtual, f.unroll)
	for i := range accs {
		accs[i] = f.vec()
		f.zero(accs[i])
	}
	return accs
}

// expUnroll is the number of registers the exp loops work on at once:
// as many as the registers left over by the constants allow.
func (k kernel) expUnroll() int {
	if k.wide && !k.f64 {
		return 4
	}
	return 2
}

// expConsts are the operands of the exponential.
type expConsts struct {
	c, mu            Op // nil for the summing kernels, which have no mu
	magic, vmin      Op
	log2e, ln2hi, lo Op
	coef             []Op // c1..cd
	one              Op
	tbl              [2]VecVirtual // the two halves of exp2table16
}

// table16 reports whether the exp of f is table-driven: the AVX-512
// float64 kernels, where a 16-entry table of 2^(i/16), held in two
// registers and read with VPERMI2PD, cuts the polynomial from degree 11 to
// 7 for three more instructions. There t counts sixteenths of ln2: the
// magic constant is 1.5*2^52 + 16*(1023 - j), and the low 16 bits of the
// rounded t are e = k + 16*(1023-j) >= 0, whose low 4 bits index the table
// and whose upper 12 are the exponent field. Shifted left by 48 they land
// in the exponent field, with the index bits below, which the table
// entries subtract again.
func (f *fn) table16() bool { return f.wide && f.f64 }

func (f *fn) expConsts(c, mu, magic, vmin Op) expConsts {
	e := expConsts{c: c, mu: mu, magic: magic, vmin: vmin}
	if f.table16() {
		e.log2e, e.ln2hi, e.lo = f.constant("log2e16"), f.constant("ln2hi16"), f.constant("ln2lo16")
		for i := 1; i <= 7; i++ {
			e.coef = append(e.coef, f.constant(fmt.Sprintf("t%d", i)))
		}
		for i := range e.tbl {
			e.tbl[i] = f.vec()
			VMOVUPD(tables["exp2table16"].Offset(64*i), e.tbl[i])
		}
		e.one = f.constant("one")
		return e
	}
	e.log2e, e.ln2hi, e.lo = f.constant("log2e"), f.constant("ln2hi"), f.constant("ln2lo")
	d := len(coef32)
	if f.f64 {
		d = len(coef64)
	}
	for i := 1; i <= d; i++ {
		e.coef = append(e.coef, f.constant(fmt.Sprintf("c%d", i)))
	}
	e.one = f.constant("one")
	return e
}

// scaled multiplies the polynomial of e by the scalar argument name, so
// that the exponential comes out multiplied by it at no cost per element.
func (f *fn) scaled(e expConsts, name string) expConsts {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	s := f.vec()
	f.bcast(b.Addr, s)
	scale := func(c Op) Op {
		r := f.vec()
		f.mul(c, s, r)
		return f.vector(r)
	}
	coef := make([]Op, len(e.coef))
	for i, c := range e.coef {
		coef[i] = scale(c)
	}
	e.coef, e.one = coef, f.vector(s)
	return e
}

// exp replaces each v in vs by exp as described in the package comment,
// zero where v < vmin or, in the tail, outside the mask. The steps are
// emitted for all registers in turn, so their chains interleave.
//
// ts, if not nil, holds v*log2(e) + c already (the caller computed it from
// x when a is 0).
func (f *fn) exp(vs, ts []VecVirtual, e expConsts, tail bool) {
	masks := make([]Register, len(vs))
	for i, v := range vs {
		// Lanes where !(v < vmin): NaN lanes stay, to come out NaN.
		if f.wide {
			k := K()
			if tail {
				f.cmp(U8(5), e.vmin, v, f.tailK, k)
			} else {
				f.cmp(U8(5), e.vmin, v, k)
			}
			masks[i] = k
		} else {
			m := YMM()
			f.cmp(U8(5), e.vmin, v, m)
			if tail {
				VANDPS(f.tailY, m, m)
			}
			masks[i] = m
		}
	}
	if ts != nil {
		for i := range vs {
			f.add(e.magic, ts[i], ts[i])
		}
	} else {
		ts = make([]VecVirtual, len(vs))
	}
	for i, v := range vs {
		if ts[i] != nil {
			continue
		}
		ts[i] = f.vec()
		if e.c != nil {
			f.mov(e.c, ts[i])
			f.fma231(e.log2e, v, ts[i])
			f.add(e.magic, ts[i], ts[i])
		} else {
			f.mov(e.magic, ts[i])
			f.fma231(e.log2e, v, ts[i])
		}
	}
	ks := make([]VecVirtual, len(vs))
	for i := range vs {
		ks[i] = f.vec()
		f.sub(e.magic, ts[i], ks[i])
	}
	for i, v := range vs {
		f.fnma231(e.ln2hi, ks[i], v)
	}
	if e.mu != nil {
		for _, v := range vs {
			f.sub(e.mu, v, v)
		}
	}
	for i, v := range vs {
		f.fnma231(e.lo, ks[i], v)
	}
	for i := range vs {
		switch {
		case f.table16():
			idx := f.vec()
			f.mov(ts[i], idx)
			VPERMI2PD(e.tbl[1], e.tbl[0], idx)
			VPSLLQ(U8(48), ts[i], ts[i])
			VPADDQ(idx, ts[i], ts[i])
		case f.f64:
			VPSLLQ(U8(52), ts[i], ts[i])
		default:
			VPSLLD(U8(23), ts[i], ts[i])
		}
	}
	d := len(e.coef)
	ps := make([]VecVirtual, len(vs))
	for i, v := range vs {
		ps[i] = f.vec()
		f.mov(e.coef[d-2], ps[i])
		f.fma231(e.coef[d-1], v, ps[i])
	}
	for j := d - 3; j >= 0; j-- {
		for i, v := range vs {
			f.fma213(e.coef[j], v, ps[i])
		}
	}
	for i, v := range vs {
		f.fma213(e.one, v, ps[i])
	}
	for i, v := range vs {
		if f.wide {
			if f.f64 {
				VMULPD_Z(ts[i], ps[i], masks[i], v)
			} else {
				VMULPS_Z(ts[i], ps[i], masks[i], v)
			}
		} else {
			f.mul(ts[i], ps[i], v)
			VANDPS(masks[i], v, v)
		}
	}
}

func (k kernel) maxOf() {
	f := k.begin("maxOf", fmt.Sprintf("func(x []%s) %s", k.goType(), k.goType()), 8,
		"maxOf returns the largest element of x, which is not empty:",
		"",
		"\tm := x[0]",
		"\tfor _, v := range x { m = max(m, v) }",
		"",
		"Which NaN-free result it gives when x holds NaN is unspecified.")
	f.align = true
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	accs := make([]VecVirtual, f.unroll)
	for i := range accs {
		accs[i] = f.vec()
		f.bcast(Mem{Base: x}, accs[i])
	}
	f.stream(n, []Register{x}, func(offs []int, tail bool) {
		for i, off := range offs {
			switch {
			case !tail:
				f.max(Mem{Base: x, Disp: off}, accs[i], accs[i])
			case f.wide:
				f.max(Mem{Base: x, Disp: off}, accs[i], f.tailK, accs[i])
			default:
				// Masked-off lanes load as 0: replace them by the
				// accumulator's own lanes before the max.
				v := f.load(x, off, true)
				if f.f64 {
					VBLENDVPD(f.tailY, v, accs[i], v)
				} else {
					VBLENDVPS(f.tailY, v, accs[i], v)
				}
				f.max(v, accs[i], accs[i])
			}
		}
	})
	r := f.reduce(combine(accs, f.max), f.max, f.f64)
	b, err := ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	if f.f64 {
		VMOVSD(r, b.Addr)
	} else {
		VMOVSS(r, b.Addr)
	}
	VZEROUPPER()
	RET()
}

func (k kernel) sumExp() {
	f := k.begin("sumExp", fmt.Sprintf("func(x []%[1]s, shift %[1]s) float64", k.goType()),
		k.expUnroll(),
		"sumExp returns the sum of exp(x[i]-shift), accumulated in the lanes",
		"of the element type and summed across lanes in float64. x[i]-shift is",
		"rounded to the element type. It prefetches (never reads) the memory",
		"after x, up to its capacity or its length again, for the caller's next",
		"block.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	shift := f.param("shift")
	magic := "magic"
	if f.table16() {
		magic = "magic16"
	}
	e := f.expConsts(nil, nil, f.constant(magic), f.constant("expmin"))
	accs := f.zeroAccs()
	wide := f.foldingSum(accs)

	// The drivers call sumExp block by block on a long vector; where x's
	// capacity reaches past its end, the unrolled loop prefetches as many
	// bytes after x as it reads of x (up to the capacity), so that the
	// next block's loads find it in the cache while this block computes.
	// pfLimit is the last address from which one iteration's prefetches
	// stay below min(cap, 2*len).
	c := Load(Param("x").Cap(), GP64())
	pf, pfLimit := GP64(), GP64()
	LEAQ(Mem{Base: x, Index: n, Scale: uint8(f.esize())}, pf)
	MOVQ(n, pfLimit)
	SHLQ(U8(1), pfLimit)
	CMPQ(pfLimit, c)
	CMOVQHI(c, pfLimit)
	LEAQ(Mem{Base: x, Index: pfLimit, Scale: uint8(f.esize()), Disp: -f.unroll * f.vbytes()}, pfLimit)

	f.stream(n, []Register{x}, func(offs []int, tail bool) {
		if len(offs) == f.unroll && f.unroll > 1 {
			CMPQ(pf, pfLimit)
			JA(LabelRef("prefetched"))
			for off := 0; off < f.unroll*f.vbytes(); off += 64 {
				PREFETCHT0(Mem{Base: pf, Disp: off})
			}
			ADDQ(U32(f.unroll*f.vbytes()), pf)
			Label("prefetched")
		}
		vs := make([]VecVirtual, len(offs))
		for i, off := range offs {
			vs[i] = f.load(x, off, tail)
			f.sub(shift, vs[i], vs[i])
		}
		f.exp(vs, nil, e, tail)
		for i, v := range vs {
			f.add(v, accs[i], accs[i])
		}
	})
	f.returnSum(accs, wide)
}

// storeExp emits storeExp (sum) or storeExpScaled (!sum).
func (k kernel) storeExp(sum bool) {
	name, unroll := "storeExp", k.expUnroll()
	sig := fmt.Sprintf("func(dst, x []%[1]s, a, c, mu, magic, vmin %[1]s) float64", k.goType())
	doc := []string{
		"storeExp sets dst[i] = exp(x[i]-m) and returns the sum of the values",
		"stored, for m = a + mu + j*ln2 given as a, c = -mu*log2(e), mu,",
		"magic = 1.5*2^p + bias - j and vmin (see the generator's comment).",
		"dst is as long as x.",
	}
	if !sum {
		name = "storeExpScaled"
		sig = fmt.Sprintf("func(dst, x []%[1]s, a, c, mu, magic, vmin, scale %[1]s)", k.goType())
		doc = []string{
			"storeExpScaled sets dst[i] = exp(x[i]-m) * scale, for m given as in",
			"storeExp. The scale multiplies the polynomial's coefficients once.",
		}
	}
	f := k.begin(name, sig, unroll, doc...)
	f.align = !sum
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	a := f.param("a")
	e := f.expConsts(f.param("c"), f.param("mu"), f.param("magic"), f.param("vmin"))
	if !sum {
		e = f.scaled(e, "scale")
	}
	var accs []VecVirtual
	var wide VecVirtual
	if sum {
		accs = f.zeroAccs()
		wide = f.foldingSum(accs)
	}
	store := func(vs []VecVirtual, offs []int, tail bool) {
		for i, v := range vs {
			f.store(v, dst, offs[i], tail)
			if sum {
				f.add(v, accs[i], accs[i])
			}
		}
	}

	// When a is 0 (|m| < 2^15 for float32, 2^14 for float64: every usual
	// case), v is x itself, and t is computed from a second load of x
	// rather than from a copy of v.
	ab, err := Param("a").Resolve()
	if err != nil {
		panic(err)
	}
	if f.f64 {
		CMPQ(ab.Addr, U8(0))
	} else {
		CMPL(ab.Addr, U8(0))
	}
	JNE(LabelRef("general"))
	f.prefix = "a0_"
	f.stream(n, []Register{dst, x}, func(offs []int, tail bool) {
		vs := make([]VecVirtual, len(offs))
		ts := make([]VecVirtual, len(offs))
		for i, off := range offs {
			vs[i] = f.load(x, off, tail)
			ts[i] = f.vec()
			f.mov(e.c, ts[i])
			f.fma231(e.log2e, vs[i], ts[i])
		}
		f.exp(vs, ts, e, tail)
		store(vs, offs, tail)
	})
	JMP(LabelRef("end"))

	Label("general")
	f.prefix = ""
	f.stream(n, []Register{dst, x}, func(offs []int, tail bool) {
		vs := make([]VecVirtual, len(offs))
		for i, off := range offs {
			vs[i] = f.load(x, off, tail)
			f.sub(a, vs[i], vs[i])
		}
		f.exp(vs, nil, e, tail)
		store(vs, offs, tail)
	})
	Label("end")
	if sum {
		f.returnSum(accs, wide)
		return
	}
	VZEROUPPER()
	RET()
}

func (k kernel) scale() {
	f := k.begin("scale", fmt.Sprintf("func(x []%[1]s, c %[1]s)", k.goType()), 4,
		"scale multiplies every element of x by c:",
		"",
		"\tfor i := range x { x[i] *= c }")
	f.align = true
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	c := f.param("c")
	f.stream(n, []Register{x}, func(offs []int, tail bool) {
		vs := make([]VecVirtual, len(offs))
		for i, off := range offs {
			vs[i] = f.load(x, off, tail)
			f.mul(c, vs[i], vs[i])
		}
		for i, off := range offs {
			f.store(vs[i], x, off, tail)
		}
	})
	VZEROUPPER()
	RET()
}

func (k kernel) storeLogSoftmax() {
	f := k.begin("storeLogSoftmax",
		fmt.Sprintf("func(dst, x []%[1]s, shift, logSum %[1]s)", k.goType()), 4,
		"storeLogSoftmax sets dst[i] = (x[i]-shift) - logSum, rounding twice as",
		"the generic kernel does. dst is as long as x.")
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	f.align = true
	shift, logSum := f.param("shift"), f.param("logSum")
	f.stream(n, []Register{dst, x}, func(offs []int, tail bool) {
		vs := make([]VecVirtual, len(offs))
		for i, off := range offs {
			vs[i] = f.load(x, off, tail)
			f.sub(shift, vs[i], vs[i])
			f.sub(logSum, vs[i], vs[i])
		}
		for i, off := range offs {
			f.store(vs[i], dst, off, tail)
		}
	})
	VZEROUPPER()
	RET()
}

func main() {
	ConstraintExpr("gc,!purego")
	declareTables()
	for _, wide := range []bool{false, true} {
		for _, f64 := range []bool{false, true} {
			k := kernel{name: map[bool]string{false: "AVX2", true: "AVX512"}[wide], wide: wide, f64: f64}
			k.maxOf()
			k.sumExp()
			k.storeExp(true)
			k.storeExp(false)
			k.scale()
			k.storeLogSoftmax()
		}
	}
	Generate()
}
