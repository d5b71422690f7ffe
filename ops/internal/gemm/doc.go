// Package gemm multiplies float32 matrices for the convolution and linear layers of
// package ops. Sgemm picks a kernel by CPU feature at run time (AVX-512, AVX2, or
// pure Go), so the module builds and passes anywhere.
package gemm
