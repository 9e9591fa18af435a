// Package softmax computes softmax and its relatives (log-softmax,
// log-sum-exp, cross-entropy) at close to the speed the hardware allows,
// for float32 and float64.
//
// Every entry point is generic over [Float]. The hot loops run in
// hand-written SIMD kernels chosen once at start-up (AVX-512 or AVX2 with
// FMA on amd64, NEON on arm64) and in pure-Go kernels elsewhere or under
// the purego build tag; [Kernel] reports the choice, and the environment
// variable named by [KernelEnv] forces one. The exponential is a
// polynomial after range reduction, accurate to a few units in the last
// place; sums are blocked and compensated so that the accuracy holds at any
// length.
//
// # The variants
//
// Three members of the family break the softmax bottleneck of a large
// output space:
//
//   - [Sparsemax] projects logits onto the probability simplex, giving
//     exact zeros, in expected linear time, with its backward pass
//     ([SparsemaxBackward]) and losses ([SparsemaxLoss], [SparsemaxLossDist]).
//   - [Hierarchical] is a hierarchical softmax over a binary [Tree]
//     ([NewHuffmanTree], [NewBalancedTree], [NewTree]): log-probabilities in
//     O(d log n), the exact top k, and training steps that touch only a
//     path; its Huffman trees are fastText's and word2vec's, node for node.
//   - [SampledSoftmax] is TensorFlow's sampled_softmax_loss with sparse
//     gradients, over constant-time samplers ([NewUniformSampler],
//     [NewLogUniformSampler], [NewUnigramSampler]).
//
// # Special values
//
// Special values follow PyTorch and SciPy, so ported code keeps its
// meaning: a NaN anywhere makes every output NaN; a +Inf anywhere makes
// every Softmax and LogSoftmax output NaN and LogSumExp +Inf; a row of only
// -Inf (fully masked) gives NaN from Softmax and LogSoftmax and -Inf from
// LogSumExp; a -Inf element (masked) gets exactly 0 from Softmax and -Inf
// from LogSoftmax; an empty input leaves the output untouched and has
// LogSumExp -Inf. Finite inputs never overflow, however large.
//
// # Accuracy
//
// For every length and every kernel, each Softmax output that is a normal
// number is within a relative 2e-6 of the exact value for float32 and 1e-14
// for float64, and each LogSoftmax output y within 2e-6·max(1, |y|) and
// 1e-14·max(1, |y|). Outputs below the smallest normal number may be
// flushed to zero.
//
// # Errors
//
// Mismatched lengths and out-of-range class indices are programmer errors
// and panic with a message that names the function. Nothing else panics.
package softmax
