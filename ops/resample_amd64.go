package ops

import "golang.org/x/sys/cpu"

// useResampleAsm selects the AVX-512 kernels of resample_amd64.s for the 2x2 tiles
// of AvgPool2D and Upsample2x. Tests switch it off to compare them with the Go loops.
var useResampleAsm = cpu.X86.HasAVX512F

//go:noescape
func sum2x2AVX512(src, dst *float32, rows, cols int, pool bool)

//go:noescape
func dup2x2AVX512(src, dst *float32, rows, cols int, pool bool)
