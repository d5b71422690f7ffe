//go:build !amd64

package ops

// useResampleAsm is false: there are no assembly kernels on this architecture.
var useResampleAsm = false

func sum2x2AVX512(src, dst *float32, rows, cols int, pool bool) {
	panic("ops: no assembly on this architecture")
}

func dup2x2AVX512(src, dst *float32, rows, cols int, pool bool) {
	panic("ops: no assembly on this architecture")
}
