package ops

//go:noescape
func swishFwdAVX512(y, x *float32, n int)

//go:noescape
func swishBwdAVX512(dx, dy, x *float32, n int)
