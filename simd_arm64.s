//go:build gc && !purego

// NEON (ASIMD) kernels for arm64. Each TEXT below implements one kernel
// operation of kernels_generic.go; simd_arm64.go declares them and says
// which Go loop each stands for.
//
// Layout. The exp kernels work on blocks of four 128-bit vectors (16
// float32 or 8 float64) and leave the last partial block to the Go side,
// which copies it into a small buffer padded with -Inf and passes a
// pointer to it ("tail"); the kernel runs that buffer as one more block,
// in place. Padding lanes give exactly 0 and do not move a maximum, so no
// kernel reads or writes outside its slices. maxOf, scale and
// storeLogSoftmax need no exp and finish with a scalar loop.
//
// Register table. The exp kernels use the same roles in both precisions
// (4S arrangement for float32, 2D for float64):
//
//	V0-V3    vx    four input vectors; then v = x-a; then the reduced r
//	V4-V7    vt    t = magic + (v-mu)*log2e, k in its low bits; then 2^(k-j)
//	V8-V11   vk    k as a float; then Horner temporaries; then the flush mask
//	V12-V15  vp    Horner temporaries; then the four results
//	V16      va    the shift a, or the running maximum in maxSumExp
//	V17      vmu   mu (accurate kernels only)
//	V18      vmagic  1.5*2^23 + 127 - j (float32) or 1.5*2^52 + 1023 - j
//	V19      vtmin   1.5*2^23 + 1 or 1.5*2^52 + 1: t below it means 2^(k-j)
//	                 would be under the smallest normal, so the result is 0
//	V20-V22  float32 constants: {log2e, ln2hi, ln2lo, c6}, {c0..c3}, {c4, c5}
//	V20-V27  float64 constants: {log2e, ln2hi}, {ln2lo, c11}, {c0, c1} ...
//	         {c10, 0}
//	V23      the factor c of storeExpScaled32
//	V28-V31  vs    four vectors of partial sums; V28 is c in storeExpScaled64
//	R0 x, R1 elements left, R2 dst, R3 tail buffer (nil when there is none),
//	R4-R6 scratch.
//
// The exp. t = round-to-integer(magic + (v-mu)*log2e) in one FMA: magic
// sits where the float spacing is 1, so t-magic is k = round((v-mu)/ln2),
// and because magic carries the exponent bias less j, t shifted left by 23
// (52) is the bit pattern of 2^(k-j) whenever k-j is in the normal range.
// r = ((v - k*ln2hi) - mu) - k*ln2lo with FMAs, |r| <= ln2/2 + rounding,
// and exp(x-m) = 2^(k-j) * P(r), P a minimax polynomial of degree 6
// (float32) or 11 (float64) from _tools/expcoef, evaluated by Horner's
// rule. Where k-j is below the normal range (x-m under about -87.68 or
// -708.74, -Inf, or a huge negative difference) the result is masked to
// exactly 0; what is flushed there is below the smallest normal number, and
// the smallest result kept is a correctly rounded subnormal. This mask
// replaces the comparison with expShift.vmin, which the kernels do not
// need: it flushes slightly later, and it also guarantees that the integer
// shift never builds a garbage exponent. NaN inputs compare false and stay
// NaN.
//
// The Go assembler lacks most ASIMD floating-point instructions, so the
// macros below encode them; their arguments are register numbers.

#include "textflag.h"

#define vx 0
#define vt 4
#define vk 8
#define vp 12
#define va 16
#define vmu 17
#define vmagic 18
#define vtmin 19
#define vkc 20
#define vs 28

// float32 constant registers.
#define vcp 21
#define vcq 22
#define vc32 23

// float64 constant registers: vkc holds {log2e, ln2hi}, vkl {ln2lo, c11},
// vcf+i holds {c(2i), c(2i+1)}.
#define vkl 21
#define vcf 22
#define vc64 28

// Vector instructions, 128 bits wide. _S is 4S (float32), _D is 2D.
#define FADD_S(d, n, m) WORD $(0x4E20D400 | (m)<<16 | (n)<<5 | (d))
#define FADD_D(d, n, m) WORD $(0x4E60D400 | (m)<<16 | (n)<<5 | (d))
#define FSUB_S(d, n, m) WORD $(0x4EA0D400 | (m)<<16 | (n)<<5 | (d))
#define FSUB_D(d, n, m) WORD $(0x4EE0D400 | (m)<<16 | (n)<<5 | (d))
#define FMUL_S(d, n, m) WORD $(0x6E20DC00 | (m)<<16 | (n)<<5 | (d))
#define FMUL_D(d, n, m) WORD $(0x6E60DC00 | (m)<<16 | (n)<<5 | (d))
#define FMAX_S(d, n, m) WORD $(0x4E20F400 | (m)<<16 | (n)<<5 | (d))
#define FMAX_D(d, n, m) WORD $(0x4E60F400 | (m)<<16 | (n)<<5 | (d))

// FMLA: d += n*m. FCMGT: d = all ones where n > m, else 0.
#define FMLA_S(d, n, m) WORD $(0x4E20CC00 | (m)<<16 | (n)<<5 | (d))
#define FMLA_D(d, n, m) WORD $(0x4E60CC00 | (m)<<16 | (n)<<5 | (d))
#define FCMGT_S(d, n, m) WORD $(0x6EA0E400 | (m)<<16 | (n)<<5 | (d))
#define FCMGT_D(d, n, m) WORD $(0x6EE0E400 | (m)<<16 | (n)<<5 | (d))

// By element: d += n*m[i], d -= n*m[i].
#define FMLA_SE(d, n, m, i) WORD $(0x4F801000 | ((i)&1)<<21 | (m)<<16 | ((i)>>1)<<11 | (n)<<5 | (d))
#define FMLS_SE(d, n, m, i) WORD $(0x4F805000 | ((i)&1)<<21 | (m)<<16 | ((i)>>1)<<11 | (n)<<5 | (d))
#define FMLA_DE(d, n, m, i) WORD $(0x4FC01000 | (m)<<16 | (i)<<11 | (n)<<5 | (d))
#define FMLS_DE(d, n, m, i) WORD $(0x4FC05000 | (m)<<16 | (i)<<11 | (n)<<5 | (d))

// d = n[i] in every lane; d = n << sh in every lane.
#define DUP_S(d, n, i) WORD $(0x4E000400 | ((i)<<3|4)<<16 | (n)<<5 | (d))
#define DUP_D(d, n, i) WORD $(0x4E000400 | ((i)<<4|8)<<16 | (n)<<5 | (d))
#define SHL_S(d, n, sh) WORD $(0x4F005400 | (32+(sh))<<16 | (n)<<5 | (d))
#define SHL_D(d, n, sh) WORD $(0x4F005400 | (64+(sh))<<16 | (n)<<5 | (d))

// Bitwise: d = n &^ m; d = n.
#define BIC_V(d, n, m) WORD $(0x4E601C00 | (m)<<16 | (n)<<5 | (d))
#define MOV_V(d, n) WORD $(0x4EA01C00 | (n)<<16 | (n)<<5 | (d))

// Reductions: scalar d = max of n's four float32 lanes, max or sum of n's
// two float64 lanes; d.2D = float64 of n's low (FCVTL) or high (FCVTL2)
// two float32 lanes.
#define FMAXV_S(d, n) WORD $(0x6E30F800 | (n)<<5 | (d))
#define FMAXP_D(d, n) WORD $(0x7E70F800 | (n)<<5 | (d))
#define FADDP_D(d, n) WORD $(0x7E70D800 | (n)<<5 | (d))
#define FCVTL(d, n) WORD $(0x0E617800 | (n)<<5 | (d))
#define FCVTL2(d, n) WORD $(0x4E617800 | (n)<<5 | (d))

// One operation on four consecutive registers from d, n (and m): with m
// stepping too (ALL4), with one register b for every lane group (ALL4B as
// the second source, ALL4BN as the first), by element, or with an
// immediate.
#define ALL4(op, d, n, m) \
	op((d)+0, (n)+0, (m)+0) \
	op((d)+1, (n)+1, (m)+1) \
	op((d)+2, (n)+2, (m)+2) \
	op((d)+3, (n)+3, (m)+3)

#define ALL4B(op, d, n, b) \
	op((d)+0, (n)+0, b) \
	op((d)+1, (n)+1, b) \
	op((d)+2, (n)+2, b) \
	op((d)+3, (n)+3, b)

#define ALL4BN(op, d, b, m) \
	op((d)+0, b, (m)+0) \
	op((d)+1, b, (m)+1) \
	op((d)+2, b, (m)+2) \
	op((d)+3, b, (m)+3)

#define ALL4E(op, d, n, m, i) \
	op((d)+0, (n)+0, m, i) \
	op((d)+1, (n)+1, m, i) \
	op((d)+2, (n)+2, m, i) \
	op((d)+3, (n)+3, m, i)

#define ALL4DUP(op, d, n, i) \
	op((d)+0, n, i) \
	op((d)+1, n, i) \
	op((d)+2, n, i) \
	op((d)+3, n, i)

#define ALL4MOV(d, n) \
	MOV_V((d)+0, n) \
	MOV_V((d)+1, n) \
	MOV_V((d)+2, n) \
	MOV_V((d)+3, n)

// ---- float32 exp of vx..vx+3, result in vp..vp+3 ----

// EXP32_REDUCE_ACCURATE, for the storing kernels:
//	v = x - a; t = magic + (v-mu)*log2e; k = t - magic
//	r = ((v - k*ln2hi) - mu) - k*ln2lo
#define EXP32_REDUCE_ACCURATE \
	ALL4B(FSUB_S, vx, vx, va) \
	ALL4B(FSUB_S, vk, vx, vmu) \
	ALL4MOV(vt, vmagic) \
	ALL4E(FMLA_SE, vt, vk, vkc, 0) \
	ALL4B(FSUB_S, vk, vt, vmagic) \
	ALL4E(FMLS_SE, vx, vk, vkc, 1) \
	ALL4B(FSUB_S, vx, vx, vmu) \
	ALL4E(FMLS_SE, vx, vk, vkc, 2)

// EXP32_REDUCE_FAST, for the summing kernels (va is the shift, mu = j = 0):
//	d = x - shift; t = magic + d*log2e; k = t - magic
//	r = (d - k*ln2hi) - k*ln2lo
#define EXP32_REDUCE_FAST \
	ALL4B(FSUB_S, vx, vx, va) \
	ALL4MOV(vt, vmagic) \
	ALL4E(FMLA_SE, vt, vx, vkc, 0) \
	ALL4B(FSUB_S, vk, vt, vmagic) \
	ALL4E(FMLS_SE, vx, vk, vkc, 1) \
	ALL4E(FMLS_SE, vx, vk, vkc, 2)

// EXP32_POLY: p = c0 + r*(c1 + r*(... + r*c6)), alternating between vk
// and vp; then the flush mask (tmin > t), 2^(k-j) = t << 23, and
// p = (p * 2^(k-j)) &^ mask.
#define EXP32_POLY \
	ALL4DUP(DUP_S, vk, vcq, 1) \
	ALL4E(FMLA_SE, vk, vx, vkc, 3) \
	ALL4DUP(DUP_S, vp, vcq, 0) \
	ALL4(FMLA_S, vp, vk, vx) \
	ALL4DUP(DUP_S, vk, vcp, 3) \
	ALL4(FMLA_S, vk, vp, vx) \
	ALL4DUP(DUP_S, vp, vcp, 2) \
	ALL4(FMLA_S, vp, vk, vx) \
	ALL4DUP(DUP_S, vk, vcp, 1) \
	ALL4(FMLA_S, vk, vp, vx) \
	ALL4DUP(DUP_S, vp, vcp, 0) \
	ALL4(FMLA_S, vp, vk, vx) \
	ALL4BN(FCMGT_S, vk, vtmin, vt) \
	ALL4B(SHL_S, vt, vt, 23) \
	ALL4(FMUL_S, vp, vp, vt) \
	ALL4(BIC_V, vp, vp, vk)

// ---- float64 exp of vx..vx+3, result in vp..vp+3 ----

#define EXP64_REDUCE_ACCURATE \
	ALL4B(FSUB_D, vx, vx, va) \
	ALL4B(FSUB_D, vk, vx, vmu) \
	ALL4MOV(vt, vmagic) \
	ALL4E(FMLA_DE, vt, vk, vkc, 0) \
	ALL4B(FSUB_D, vk, vt, vmagic) \
	ALL4E(FMLS_DE, vx, vk, vkc, 1) \
	ALL4B(FSUB_D, vx, vx, vmu) \
	ALL4E(FMLS_DE, vx, vk, vkl, 0)

#define EXP64_REDUCE_FAST \
	ALL4B(FSUB_D, vx, vx, va) \
	ALL4MOV(vt, vmagic) \
	ALL4E(FMLA_DE, vt, vx, vkc, 0) \
	ALL4B(FSUB_D, vk, vt, vmagic) \
	ALL4E(FMLS_DE, vx, vk, vkc, 1) \
	ALL4E(FMLS_DE, vx, vk, vkl, 0)

// EXP64_POLY: Horner's rule from c11 down to c0, then as EXP32_POLY with
// t << 52.
#define EXP64_POLY \
	ALL4DUP(DUP_D, vp, vcf+5, 0) \
	ALL4E(FMLA_DE, vp, vx, vkl, 1) \
	ALL4DUP(DUP_D, vk, vcf+4, 1) \
	ALL4(FMLA_D, vk, vp, vx) \
	ALL4DUP(DUP_D, vp, vcf+4, 0) \
	ALL4(FMLA_D, vp, vk, vx) \
	ALL4DUP(DUP_D, vk, vcf+3, 1) \
	ALL4(FMLA_D, vk, vp, vx) \
	ALL4DUP(DUP_D, vp, vcf+3, 0) \
	ALL4(FMLA_D, vp, vk, vx) \
	ALL4DUP(DUP_D, vk, vcf+2, 1) \
	ALL4(FMLA_D, vk, vp, vx) \
	ALL4DUP(DUP_D, vp, vcf+2, 0) \
	ALL4(FMLA_D, vp, vk, vx) \
	ALL4DUP(DUP_D, vk, vcf+1, 1) \
	ALL4(FMLA_D, vk, vp, vx) \
	ALL4DUP(DUP_D, vp, vcf+1, 0) \
	ALL4(FMLA_D, vp, vk, vx) \
	ALL4DUP(DUP_D, vk, vcf+0, 1) \
	ALL4(FMLA_D, vk, vp, vx) \
	ALL4DUP(DUP_D, vp, vcf+0, 0) \
	ALL4(FMLA_D, vp, vk, vx) \
	ALL4BN(FCMGT_D, vk, vtmin, vt) \
	ALL4B(SHL_D, vt, vt, 52) \
	ALL4(FMUL_D, vp, vp, vt) \
	ALL4(BIC_V, vp, vp, vk)

// Constants, one 16-byte row per register, in register order from V19.
// float32: tmin; {log2e, ln2hi, ln2lo, c6}; {c0, c1, c2, c3}; {c4, c5}.
// The coefficients come from `go run ./expcoef -degree 6 -float32`.
DATA exp32<>+0x00(SB)/4, $0x4b400001 // 1.5*2^23 + 1
DATA exp32<>+0x04(SB)/4, $0x4b400001
DATA exp32<>+0x08(SB)/4, $0x4b400001
DATA exp32<>+0x0c(SB)/4, $0x4b400001
DATA exp32<>+0x10(SB)/4, $0x3fb8aa3b // log2(e)
DATA exp32<>+0x14(SB)/4, $0x3f317218 // ln2 rounded to float32
DATA exp32<>+0x18(SB)/4, $0xb102e308 // ln2 - ln2hi
DATA exp32<>+0x1c(SB)/4, $0x3ab57398 // c6 0x1.6ae73p-10
DATA exp32<>+0x20(SB)/4, $0x3f800000 // c0 1
DATA exp32<>+0x24(SB)/4, $0x3f800000 // c1 1
DATA exp32<>+0x28(SB)/4, $0x3efffffe // c2 0x1.fffffcp-02
DATA exp32<>+0x2c(SB)/4, $0x3e2aaa0d // c3 0x1.55541ap-03
DATA exp32<>+0x30(SB)/4, $0x3d2aac11 // c4 0x1.555822p-05
DATA exp32<>+0x34(SB)/4, $0x3c0933c1 // c5 0x1.126782p-07
DATA exp32<>+0x38(SB)/4, $0
DATA exp32<>+0x3c(SB)/4, $0
GLOBL exp32<>(SB), RODATA|NOPTR, $64

// float64: tmin; {log2e, ln2hi}; {ln2lo, c11}; {c0, c1} ... {c10, 0}.
// The coefficients come from `go run ./expcoef -degree 11`.
DATA exp64<>+0x00(SB)/8, $0x4338000000000001 // 1.5*2^52 + 1
DATA exp64<>+0x08(SB)/8, $0x4338000000000001
DATA exp64<>+0x10(SB)/8, $0x3ff71547652b82fe // log2(e)
DATA exp64<>+0x18(SB)/8, $0x3fe62e42fefa39ef // ln2 rounded to float64
DATA exp64<>+0x20(SB)/8, $0x3c7abc9e3b39803f // ln2 - ln2hi
DATA exp64<>+0x28(SB)/8, $0x3e5b111b18c2bacc // c11 0x1.b111b18c2baccp-26
DATA exp64<>+0x30(SB)/8, $0x3ff0000000000000 // c0 1
DATA exp64<>+0x38(SB)/8, $0x3ff0000000000000 // c1 1
DATA exp64<>+0x40(SB)/8, $0x3fe0000000000009 // c2 0x1.0000000000009p-01
DATA exp64<>+0x48(SB)/8, $0x3fc555555555570f // c3 0x1.555555555570fp-03
DATA exp64<>+0x50(SB)/8, $0x3fa5555555550baf // c4 0x1.5555555550bafp-05
DATA exp64<>+0x58(SB)/8, $0x3f811111110c6de9 // c5 0x1.11111110c6de9p-07
DATA exp64<>+0x60(SB)/8, $0x3f56c16c181b10bc // c6 0x1.6c16c181b10bcp-10
DATA exp64<>+0x68(SB)/8, $0x3f2a01a02c00fad8 // c7 0x1.a01a02c00fad8p-13
DATA exp64<>+0x70(SB)/8, $0x3efa019a566a0a3b // c8 0x1.a019a566a0a3bp-16
DATA exp64<>+0x78(SB)/8, $0x3ec71dc55f5f96a0 // c9 0x1.71dc55f5f96ap-19
DATA exp64<>+0x80(SB)/8, $0x3e9289f5c8514353 // c10 0x1.289f5c8514353p-22
DATA exp64<>+0x88(SB)/8, $0
GLOBL exp64<>(SB), RODATA|NOPTR, $144

// LOAD_EXP32 and LOAD_EXP64 load V19 (tmin) and the constants after it.
#define LOAD_EXP32 \
	MOVD $exp32<>(SB), R4 \
	VLD1 (R4), [V19.S4, V20.S4, V21.S4, V22.S4]

#define LOAD_EXP64 \
	MOVD $exp64<>(SB), R4 \
	VLD1.P 64(R4), [V19.D2, V20.D2, V21.D2, V22.D2] \
	VLD1.P 64(R4), [V23.D2, V24.D2, V25.D2, V26.D2] \
	VLD1 (R4), [V27.D2]

// The magic constant of the summing kernels, where j = 0.
#define MAGIC32_J0 $0x4b40007f
#define MAGIC64_J0 $0x43380000000003ff

// The lowest finite float32 and float64, the start of a running maximum.
#define LOWEST32 $0xff7fffff
#define LOWEST64 $0xffefffffffffffff

// ZERO_SUMS clears the four sum vectors.
#define ZERO_SUMS \
	VEOR V28.B16, V28.B16, V28.B16 \
	VEOR V29.B16, V29.B16, V29.B16 \
	VEOR V30.B16, V30.B16, V30.B16 \
	VEOR V31.B16, V31.B16, V31.B16

// SUMS32_TO_F0 and SUMS64_TO_F0 add the four sum vectors into F0 as a
// float64 (float32 lanes are widened before they are added).
#define SUMS32_TO_F0 \
	FADD_S(vs, vs, vs+1) \
	FADD_S(vs+2, vs+2, vs+3) \
	FCVTL(0, vs) \
	FCVTL2(1, vs) \
	FCVTL(2, vs+2) \
	FCVTL2(3, vs+2) \
	FADD_D(0, 0, 1) \
	FADD_D(2, 2, 3) \
	FADD_D(0, 0, 2) \
	FADDP_D(0, 0)

#define SUMS64_TO_F0 \
	FADD_D(vs, vs, vs+1) \
	FADD_D(vs+2, vs+2, vs+3) \
	FADD_D(vs, vs, vs+2) \
	FADDP_D(0, vs)

// func maxOfNEON32(x []float32) float32
TEXT ·maxOfNEON32(SB), NOSPLIT, $0-28
	MOVD x_base+0(FP), R0
	MOVD x_len+8(FP), R1

	// Four running maxima, all starting at x[0] (x is never empty).
	VLD1R (R0), [V0.S4]
	VMOV  V0.B16, V1.B16
	VMOV  V0.B16, V2.B16
	VMOV  V0.B16, V3.B16

max32_block:
	CMP   $16, R1
	BLT   max32_vector
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	ALL4(FMAX_S, 0, 0, 4)
	SUB   $16, R1
	B     max32_block

max32_vector:
	CMP   $4, R1
	BLT   max32_reduce
	VLD1.P 16(R0), [V4.S4]
	FMAX_S(0, 0, 4)
	SUB   $4, R1
	B     max32_vector

max32_reduce:
	FMAX_S(0, 0, 1)
	FMAX_S(2, 2, 3)
	FMAX_S(0, 0, 2)
	FMAXV_S(0, 0)

max32_scalar:
	CBZ   R1, max32_done
	FMOVS.P 4(R0), F1
	FMAXS F1, F0, F0
	SUB   $1, R1
	B     max32_scalar

max32_done:
	FMOVS F0, ret+24(FP)
	RET

// func maxOfNEON64(x []float64) float64
TEXT ·maxOfNEON64(SB), NOSPLIT, $0-32
	MOVD x_base+0(FP), R0
	MOVD x_len+8(FP), R1

	VLD1R (R0), [V0.D2]
	VMOV  V0.B16, V1.B16
	VMOV  V0.B16, V2.B16
	VMOV  V0.B16, V3.B16

max64_block:
	CMP   $8, R1
	BLT   max64_vector
	VLD1.P 64(R0), [V4.D2, V5.D2, V6.D2, V7.D2]
	ALL4(FMAX_D, 0, 0, 4)
	SUB   $8, R1
	B     max64_block

max64_vector:
	CMP   $2, R1
	BLT   max64_reduce
	VLD1.P 16(R0), [V4.D2]
	FMAX_D(0, 0, 4)
	SUB   $2, R1
	B     max64_vector

max64_reduce:
	FMAX_D(0, 0, 1)
	FMAX_D(2, 2, 3)
	FMAX_D(0, 0, 2)
	FMAXP_D(0, 0)

	// At most one element is left.
	CBZ   R1, max64_done
	FMOVD (R0), F1
	FMAXD F1, F0, F0

max64_done:
	FMOVD F0, ret+24(FP)
	RET

// func scaleNEON32(x []float32, c float32)
TEXT ·scaleNEON32(SB), NOSPLIT, $0-28
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	FMOVS c+24(FP), F31
	VDUP  V31.S[0], V31.S4

scale32_block:
	CMP   $16, R1
	BLT   scale32_vector
	VLD1  (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	ALL4B(FMUL_S, 0, 0, 31)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUB   $16, R1
	B     scale32_block

scale32_vector:
	CMP   $4, R1
	BLT   scale32_scalar
	VLD1  (R0), [V0.S4]
	FMUL_S(0, 0, 31)
	VST1.P [V0.S4], 16(R0)
	SUB   $4, R1
	B     scale32_vector

scale32_scalar:
	CBZ   R1, scale32_done
	FMOVS (R0), F0
	FMULS F31, F0, F0
	FMOVS.P F0, 4(R0)
	SUB   $1, R1
	B     scale32_scalar

scale32_done:
	RET

// func scaleNEON64(x []float64, c float64)
TEXT ·scaleNEON64(SB), NOSPLIT, $0-32
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	FMOVD c+24(FP), F31
	VDUP  V31.D[0], V31.D2

scale64_block:
	CMP   $8, R1
	BLT   scale64_vector
	VLD1  (R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	ALL4B(FMUL_D, 0, 0, 31)
	VST1.P [V0.D2, V1.D2, V2.D2, V3.D2], 64(R0)
	SUB   $8, R1
	B     scale64_block

scale64_vector:
	CMP   $2, R1
	BLT   scale64_scalar
	VLD1  (R0), [V0.D2]
	FMUL_D(0, 0, 31)
	VST1.P [V0.D2], 16(R0)
	SUB   $2, R1
	B     scale64_vector

scale64_scalar:
	CBZ   R1, scale64_done
	FMOVD (R0), F0
	FMULD F31, F0, F0
	FMOVD F0, (R0)

scale64_done:
	RET

// func storeLogSoftmaxNEON32(dst, x []float32, shift, logSum float32)
TEXT ·storeLogSoftmaxNEON32(SB), NOSPLIT, $0-56
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	FMOVS shift+48(FP), F30
	FMOVS logSum+52(FP), F31
	VDUP  V30.S[0], V30.S4
	VDUP  V31.S[0], V31.S4

	// dst = (x - shift) - logSum, two roundings as in the generic kernel.
logsm32_block:
	CMP   $16, R1
	BLT   logsm32_vector
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	ALL4B(FSUB_S, 0, 0, 30)
	ALL4B(FSUB_S, 0, 0, 31)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R2)
	SUB   $16, R1
	B     logsm32_block

logsm32_vector:
	CMP   $4, R1
	BLT   logsm32_scalar
	VLD1.P 16(R0), [V0.S4]
	FSUB_S(0, 0, 30)
	FSUB_S(0, 0, 31)
	VST1.P [V0.S4], 16(R2)
	SUB   $4, R1
	B     logsm32_vector

logsm32_scalar:
	CBZ   R1, logsm32_done
	FMOVS.P 4(R0), F0
	FSUBS F30, F0, F0
	FSUBS F31, F0, F0
	FMOVS.P F0, 4(R2)
	SUB   $1, R1
	B     logsm32_scalar

logsm32_done:
	RET

// func storeLogSoftmaxNEON64(dst, x []float64, shift, logSum float64)
TEXT ·storeLogSoftmaxNEON64(SB), NOSPLIT, $0-64
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	FMOVD shift+48(FP), F30
	FMOVD logSum+56(FP), F31
	VDUP  V30.D[0], V30.D2
	VDUP  V31.D[0], V31.D2

logsm64_block:
	CMP   $8, R1
	BLT   logsm64_vector
	VLD1.P 64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	ALL4B(FSUB_D, 0, 0, 30)
	ALL4B(FSUB_D, 0, 0, 31)
	VST1.P [V0.D2, V1.D2, V2.D2, V3.D2], 64(R2)
	SUB   $8, R1
	B     logsm64_block

logsm64_vector:
	CMP   $2, R1
	BLT   logsm64_scalar
	VLD1.P 16(R0), [V0.D2]
	FSUB_D(0, 0, 30)
	FSUB_D(0, 0, 31)
	VST1.P [V0.D2], 16(R2)
	SUB   $2, R1
	B     logsm64_vector

logsm64_scalar:
	CBZ   R1, logsm64_done
	FMOVD (R0), F0
	FSUBD F30, F0, F0
	FSUBD F31, F0, F0
	FMOVD F0, (R2)

logsm64_done:
	RET

// NEXT_BLOCK_OR_TAIL ends a block loop: when no whole block is left it
// points x and dst at the tail buffer, if there is one, for one more
// block, and otherwise goes on to done.
#define NEXT_BLOCK_OR_TAIL(loop, done, block) \
	CBNZ  R1, loop \
	CBZ   R3, done \
	MOVD  R3, R0 \
	MOVD  R3, R2 \
	MOVD  ZR, R3 \
	MOVD  $block, R1 \
	B     loop

// func sumExpNEON32(x []float32, tail *[16]float32, shift float32) float64
TEXT ·sumExpNEON32(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	MOVD  tail+24(FP), R3
	FMOVS shift+32(FP), F16
	VDUP  V16.S[0], V16.S4
	MOVW  MAGIC32_J0, R5
	VDUP  R5, V18.S4
	LOAD_EXP32
	ZERO_SUMS
	CBZ   R1, sum32_next

sum32_loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	EXP32_REDUCE_FAST
	EXP32_POLY
	ALL4(FADD_S, vs, vs, vp)
	SUB   $16, R1

sum32_next:
	NEXT_BLOCK_OR_TAIL(sum32_loop, sum32_done, 16)

sum32_done:
	SUMS32_TO_F0
	FMOVD F0, ret+40(FP)
	RET

// func sumExpNEON64(x []float64, tail *[8]float64, shift float64) float64
TEXT ·sumExpNEON64(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	MOVD  tail+24(FP), R3
	FMOVD shift+32(FP), F16
	VDUP  V16.D[0], V16.D2
	MOVD  MAGIC64_J0, R5
	VDUP  R5, V18.D2
	LOAD_EXP64
	ZERO_SUMS
	CBZ   R1, sum64_next

sum64_loop:
	VLD1.P 64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	EXP64_REDUCE_FAST
	EXP64_POLY
	ALL4(FADD_D, vs, vs, vp)
	SUB   $8, R1

sum64_next:
	NEXT_BLOCK_OR_TAIL(sum64_loop, sum64_done, 8)

sum64_done:
	SUMS64_TO_F0
	FMOVD F0, ret+40(FP)
	RET

// func storeExpNEON32(dst, x []float32, tail *[16]float32, a, mu, magic float32) float64
TEXT ·storeExpNEON32(SB), NOSPLIT, $0-80
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	MOVD  tail+48(FP), R3
	FMOVS a+56(FP), F16
	FMOVS mu+60(FP), F17
	FMOVS magic+64(FP), F18
	VDUP  V16.S[0], V16.S4
	VDUP  V17.S[0], V17.S4
	VDUP  V18.S[0], V18.S4
	LOAD_EXP32
	ZERO_SUMS
	CBZ   R1, store32_next

store32_loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	EXP32_REDUCE_ACCURATE
	EXP32_POLY
	ALL4(FADD_S, vs, vs, vp)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R2)
	SUB   $16, R1

store32_next:
	NEXT_BLOCK_OR_TAIL(store32_loop, store32_done, 16)

store32_done:
	SUMS32_TO_F0
	FMOVD F0, ret+72(FP)
	RET

// func storeExpNEON64(dst, x []float64, tail *[8]float64, a, mu, magic float64) float64
TEXT ·storeExpNEON64(SB), NOSPLIT, $0-88
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	MOVD  tail+48(FP), R3
	FMOVD a+56(FP), F16
	FMOVD mu+64(FP), F17
	FMOVD magic+72(FP), F18
	VDUP  V16.D[0], V16.D2
	VDUP  V17.D[0], V17.D2
	VDUP  V18.D[0], V18.D2
	LOAD_EXP64
	ZERO_SUMS
	CBZ   R1, store64_next

store64_loop:
	VLD1.P 64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	EXP64_REDUCE_ACCURATE
	EXP64_POLY
	ALL4(FADD_D, vs, vs, vp)
	VST1.P [V12.D2, V13.D2, V14.D2, V15.D2], 64(R2)
	SUB   $8, R1

store64_next:
	NEXT_BLOCK_OR_TAIL(store64_loop, store64_done, 8)

store64_done:
	SUMS64_TO_F0
	FMOVD F0, ret+80(FP)
	RET

// func storeExpScaledNEON32(dst, x []float32, tail *[16]float32, a, mu, magic, c float32)
TEXT ·storeExpScaledNEON32(SB), NOSPLIT, $0-72
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	MOVD  tail+48(FP), R3
	FMOVS a+56(FP), F16
	FMOVS mu+60(FP), F17
	FMOVS magic+64(FP), F18
	FMOVS c+68(FP), F23
	VDUP  V16.S[0], V16.S4
	VDUP  V17.S[0], V17.S4
	VDUP  V18.S[0], V18.S4
	VDUP  V23.S[0], V23.S4
	LOAD_EXP32
	CBZ   R1, scaled32_next

scaled32_loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	EXP32_REDUCE_ACCURATE
	EXP32_POLY
	ALL4B(FMUL_S, vp, vp, vc32)
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R2)
	SUB   $16, R1

scaled32_next:
	NEXT_BLOCK_OR_TAIL(scaled32_loop, scaled32_done, 16)

scaled32_done:
	RET

// func storeExpScaledNEON64(dst, x []float64, tail *[8]float64, a, mu, magic, c float64)
TEXT ·storeExpScaledNEON64(SB), NOSPLIT, $0-88
	MOVD  dst_base+0(FP), R2
	MOVD  x_base+24(FP), R0
	MOVD  x_len+32(FP), R1
	MOVD  tail+48(FP), R3
	FMOVD a+56(FP), F16
	FMOVD mu+64(FP), F17
	FMOVD magic+72(FP), F18
	FMOVD c+80(FP), F28
	VDUP  V16.D[0], V16.D2
	VDUP  V17.D[0], V17.D2
	VDUP  V18.D[0], V18.D2
	VDUP  V28.D[0], V28.D2
	LOAD_EXP64
	CBZ   R1, scaled64_next

scaled64_loop:
	VLD1.P 64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	EXP64_REDUCE_ACCURATE
	EXP64_POLY
	ALL4B(FMUL_D, vp, vp, vc64)
	VST1.P [V12.D2, V13.D2, V14.D2, V15.D2], 64(R2)
	SUB   $8, R1

scaled64_next:
	NEXT_BLOCK_OR_TAIL(scaled64_loop, scaled64_done, 8)

scaled64_done:
	RET

// The one-pass normalizer. x is taken in chunks of up to 256 float32 (128
// float64), 1 KiB that stay in the L1 cache: the chunk's lane-wise maximum
// first, then the running maximum va (per lane) rises to it, the sums are
// rescaled by exp(old - new), and the chunk's exponentials relative to the
// new maximum are added. x is read once from memory and the rescaling
// costs one exp per chunk, not one per element as in the element-wise
// online normalizer. va starts at the lowest finite value, so -Inf
// elements (and the padding of the tail) add exactly 0, and a chunk of
// only -Inf leaves (lowest, 0). A NaN or +Inf makes the sums NaN: through
// the maximum, or through +Inf - +Inf.

// func maxSumExpNEON32(x []float32, tail *[16]float32) (m float32, sum float64)
TEXT ·maxSumExpNEON32(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	MOVD  tail+24(FP), R3
	MOVW  LOWEST32, R5
	VDUP  R5, V16.S4
	MOVW  MAGIC32_J0, R5
	VDUP  R5, V18.S4
	LOAD_EXP32
	ZERO_SUMS

maxsum32_next:
	// The next chunk: up to 256 elements of x, else the tail, else done.
	CBNZ  R1, maxsum32_x
	CBZ   R3, maxsum32_done
	MOVD  R3, R0
	MOVD  ZR, R3
	MOVD  $16, R5
	B     maxsum32_chunk

maxsum32_x:
	MOVD  $256, R5
	CMP   R5, R1
	CSEL  LO, R1, R5, R5
	SUB   R5, R1

maxsum32_chunk:
	// The chunk's maximum, lane by lane, starting from the running one.
	MOVD  R0, R4
	MOVD  R5, R6
	ALL4MOV(vp, va)

maxsum32_max:
	VLD1.P 64(R4), [V0.S4, V1.S4, V2.S4, V3.S4]
	ALL4(FMAX_S, vp, vp, vx)
	SUBS  $16, R6
	BNE   maxsum32_max
	FMAX_S(vp, vp, vp+1)
	FMAX_S(vp+2, vp+2, vp+3)
	FMAX_S(vp, vp, vp+2)

	// Rescale the sums by exp(old maximum - new maximum), computed in
	// lane group 0 (the other three compute whatever they hold).
	MOV_V(vx, va)
	MOV_V(va, vp)
	EXP32_REDUCE_FAST
	EXP32_POLY
	ALL4B(FMUL_S, vs, vs, vp)

maxsum32_sum:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	EXP32_REDUCE_FAST
	EXP32_POLY
	ALL4(FADD_S, vs, vs, vp)
	SUBS  $16, R5
	BNE   maxsum32_sum
	B     maxsum32_next

maxsum32_done:
	// Bring every lane to the largest maximum, then add the lanes up.
	FMAXV_S(vmu, va)
	DUP_S(vmu, vmu, 0)
	MOV_V(vx, va)
	MOV_V(va, vmu)
	EXP32_REDUCE_FAST
	EXP32_POLY
	ALL4B(FMUL_S, vs, vs, vp)
	SUMS32_TO_F0
	FMOVS F17, m+32(FP)
	FMOVD F0, sum+40(FP)
	RET

// func maxSumExpNEON64(x []float64, tail *[8]float64) (m float64, sum float64)
TEXT ·maxSumExpNEON64(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R1
	MOVD  tail+24(FP), R3
	MOVD  LOWEST64, R5
	VDUP  R5, V16.D2
	MOVD  MAGIC64_J0, R5
	VDUP  R5, V18.D2
	LOAD_EXP64
	ZERO_SUMS

maxsum64_next:
	CBNZ  R1, maxsum64_x
	CBZ   R3, maxsum64_done
	MOVD  R3, R0
	MOVD  ZR, R3
	MOVD  $8, R5
	B     maxsum64_chunk

maxsum64_x:
	MOVD  $128, R5
	CMP   R5, R1
	CSEL  LO, R1, R5, R5
	SUB   R5, R1

maxsum64_chunk:
	MOVD  R0, R4
	MOVD  R5, R6
	ALL4MOV(vp, va)

maxsum64_max:
	VLD1.P 64(R4), [V0.D2, V1.D2, V2.D2, V3.D2]
	ALL4(FMAX_D, vp, vp, vx)
	SUBS  $8, R6
	BNE   maxsum64_max
	FMAX_D(vp, vp, vp+1)
	FMAX_D(vp+2, vp+2, vp+3)
	FMAX_D(vp, vp, vp+2)

	MOV_V(vx, va)
	MOV_V(va, vp)
	EXP64_REDUCE_FAST
	EXP64_POLY
	ALL4B(FMUL_D, vs, vs, vp)

maxsum64_sum:
	VLD1.P 64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	EXP64_REDUCE_FAST
	EXP64_POLY
	ALL4(FADD_D, vs, vs, vp)
	SUBS  $8, R5
	BNE   maxsum64_sum
	B     maxsum64_next

maxsum64_done:
	FMAXP_D(vmu, va)
	DUP_D(vmu, vmu, 0)
	MOV_V(vx, va)
	MOV_V(va, vmu)
	EXP64_REDUCE_FAST
	EXP64_POLY
	ALL4B(FMUL_D, vs, vs, vp)
	SUMS64_TO_F0
	FMOVD F17, m+32(FP)
	FMOVD F0, sum+40(FP)
	RET
