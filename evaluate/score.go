package evaluate

import (
	"fmt"
	"math"

	"nas/ops"
)

// Accuracy is a network's mean loss and top-1 accuracy on a split.
type Accuracy struct {
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	Images   int     `json:"images"`
}

// Evaluate runs net in evaluation mode over a whole split of data, batch images at
// a time (0 means 64: every layer keeps its output, so a large evaluation batch costs memory), and returns its accuracy and mean cross-entropy (without
// label smoothing). An empty split is an error.
func Evaluate(net *ops.Network, data Dataset, split Split, batchSize int) (Accuracy, error) {
	if batchSize <= 0 {
		batchSize = 64
	}
	n, err := data.Len(split)
	if err != nil {
		return Accuracy{}, err
	}
	if n == 0 {
		return Accuracy{}, fmt.Errorf("dataset %s: the %s split is empty", data.Name(), split)
	}
	net.SetTraining(false)
	defer net.SetTraining(true)
	var loss ops.SoftmaxCrossEntropy
	var sum float64
	correct := 0
	idx := make([]int, 0, batchSize)
	labels := make([]int, batchSize)
	full := ops.New(batchSize, data.Shape())
	for lo := 0; lo < n; lo += batchSize {
		hi := min(n, lo+batchSize)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		x := full
		if hi-lo != batchSize {
			x = ops.FromSlice(hi-lo, data.Shape(), full.Float32s()[:(hi-lo)*data.Shape().Size()])
		}
		if err := data.Batch(split, idx, x.Float32s(), labels[:hi-lo], nil); err != nil {
			return Accuracy{}, err
		}
		logits, err := net.Forward(x)
		if err != nil {
			return Accuracy{}, fmt.Errorf("evaluate on %s: %w", split, err)
		}
		l, err := loss.Forward(logits, labels[:hi-lo])
		if err != nil {
			return Accuracy{}, fmt.Errorf("evaluate on %s: %w", split, err)
		}
		sum += l * float64(hi-lo)
		correct += loss.Correct()
	}
	a := Accuracy{Accuracy: float64(correct) / float64(n), Loss: sum / float64(n), Images: n}
	// A non-finite mean loss (an overflowing logit) is reported as the largest
	// float64, so that scores stay JSON numbers and sort after every finite loss.
	if math.IsNaN(a.Loss) || math.IsInf(a.Loss, 0) {
		a.Loss = math.MaxFloat64
	}
	return a, nil
}
