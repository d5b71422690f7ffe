package ops

// Cost is the price of a layer for one sample under the package's cost convention:
// multiply-accumulates and trainable parameters.
type Cost struct {
	MACs   int64
	Params int64
}

// Add returns the sum of two costs.
func (c Cost) Add(d Cost) Cost { return Cost{c.MACs + d.MACs, c.Params + d.Params} }
