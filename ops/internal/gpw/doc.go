// Package gpw holds the inner loops of nas's grouped 1x1 (pointwise) convolutions
// with few channels per group, where a general matrix multiply spends more time
// packing its operands than multiplying them.
//
// A 1x1 convolution of one sample and group in NCHW is a product of a small weight
// matrix with a matrix whose rows are whole planes. Apply computes D = A * S for an
// M x K matrix A, packed by Pack in tiles of six rows, and a K x N matrix S: each
// tile of six output rows and 64 columns is 24 AVX-512 accumulators, fed per row of
// S by four vector loads and 24 fused multiply-adds whose weight operand is an
// embedded broadcast. The forward pass is Apply with the weights, the input
// gradient Apply with the transposed weights.
//
// WeightGrad accumulates the weight gradient A * B^T of two matrices with N columns
// as 16-lane partial sums, six rows of A by four rows of B at a time, which
// ReduceLanes adds up in a fixed order, so the result is deterministic.
//
// Apply runs over column blocks in its outer loop and tiles of rows in its inner one,
// so that the block of S a column block reads stays in the L1 cache for all tiles.
// ApplyAhead and WeightGradAhead also prefetch memory that the caller will stream
// next (Ahead) while they compute, which overlaps the transfer with their arithmetic.
//
// The kernels run in AVX-512 assembly when the CPU has it (checked at run time with
// golang.org/x/sys/cpu) and in the pure-Go twins otherwise; both compute the same
// sums in the same order, the assembly with fused multiply-adds. Package gpw is
// internal to ops and depends on nothing of nas.
package gpw
