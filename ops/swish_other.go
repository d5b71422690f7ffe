//go:build !amd64

package ops

func swishFwdAVX512(y, x *float32, n int) {
	panic("ops: no assembly on this architecture")
}

func swishBwdAVX512(dx, dy, x *float32, n int) {
	panic("ops: no assembly on this architecture")
}
