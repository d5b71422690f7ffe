// Package dwconv holds the inner loops of nas's depthwise convolutions: a masked
// "flat" convolution of one plane, its weight-gradient twin, and the even/odd
// (de)interleaving that turns a stride-2 convolution into four stride-1 ones.
//
// A plane of R rows stored with row pitch P is treated as one vector of R*P values.
// When the source and destination share the pitch, every kernel tap is a constant
// offset into that vector, so an output block of 16 consecutive values is 16 lanes of
// one fused multiply-add per tap; a 16-bit lane mask per (tap, block), computed once
// per shape by NewPlan, zeroes the lanes whose source falls outside the plane or wraps
// into the neighbouring row. This works for any plane width, so 7x7 and 4x4 planes
// fill the vector lanes as well as 14x14 ones do.
//
// Small planes pay more per plane and per tap than per value, so ConvPlanes and
// BackwardPlanes take one-block planes (at most 16 values, 4x4) four at a time and
// four-block planes (49 to 64 values, 7x7) two at a time: one offset and mask read
// per tap for the group, with more independent chains of fused multiply-adds. These
// grouped kernels add the same terms in the same order as the per-plane ones.
//
// At stride 1, Plan.BackwardPlanes computes the input gradient and the weight
// gradient in one sweep over the output gradient, from the same masked loads; with
// nine taps (3x3) on planes larger than the grouped kernels take, it keeps the weight
// gradient's partial sums in registers over each plane (bwd9AVX512), in the same
// order.
//
// At stride 2, S2Plan computes the forward pass and the weight gradient straight
// from the input plane: each kernel tap is one two-source lane permutation of the
// input rows it needs, so the input is not split into phases first. Its input
// gradient is written straight into the input-gradient plane the same way, one
// permutation of the output-gradient rows per tap (S2Plan.InputGradPlanes); the
// phases (Deinterleave, Plan, InterleavePlanes) remain for planes S2Plan cannot take.
// Permutations and loads are what these kernels spend, so they share them where the
// sums allow it without changing their order: with one output row per vector the
// forward takes two output rows at a time, permuting each input row once for both,
// and the weight gradient takes kernel rows k and k+2/dilH together, which read the
// same input rows one vector apart (a 3x3 kernel instead takes all three rows in
// one pass, loading each output-gradient vector once for its 18 accumulators);
// with an odd column dilation the input gradient
// permutes once for kernel columns 2s and 2s+1, whose lanes are disjoint, and on
// planes wider than 16 it computes both halves of an input row from one load of
// each output-gradient row.
//
// The kernels run in AVX-512 assembly when the CPU has it (checked at run time with
// golang.org/x/sys/cpu) and in the pure-Go twins otherwise; both compute the same
// sums in the same order, the assembly with fused multiply-adds.
package dwconv
