package ops

// CompactStorage is implemented by leaf layers whose parameters are not stored as
// 32-bit floats once trained, such as DSConv's low-bit integers. StorageBits returns
// the bits a deployment stores for the layer's parameters and whatever it derives
// from them (quantisation scales), not for its running statistics or activations.
type CompactStorage interface {
	StorageBits() int64
}

// WeightBits returns the bits that the parameters of l and of every layer inside it
// take to store: StorageBits for the layers that implement CompactStorage, and 32
// bits per value of Params for the other parameterized layers.
func WeightBits(l Layer) int64 {
	var bits int64
	Walk(l, func(_ string, l Layer) {
		switch l := l.(type) {
		case CompactStorage:
			bits += l.StorageBits()
		case Parameterized:
			for _, p := range l.Params() {
				bits += 32 * int64(p.Size())
			}
		}
	})
	return bits
}
