package zoo

import "nas/ops"

// IndexSelect picks input channels by index, as torch.index_select along the
// channels does: CondenseNet's converted selection. It is ops.IndexSelect, which
// LearnedGroupConv.Convert builds; the zoo keeps the name for its builders.
type IndexSelect = ops.IndexSelect

// NewIndexSelect returns the selection of the given channels (ops.NewIndexSelect).
func NewIndexSelect(index []int) (*IndexSelect, error) { return ops.NewIndexSelect(index) }

// identityIndex returns 0, 1, ..., n-1.
func identityIndex(n int) []int {
	ix := make([]int, n)
	for i := range ix {
		ix[i] = i
	}
	return ix
}

// evenIndex returns 0, 2, ..., 2(n-1).
func evenIndex(n int) []int {
	ix := make([]int, n)
	for i := range ix {
		ix[i] = 2 * i
	}
	return ix
}
