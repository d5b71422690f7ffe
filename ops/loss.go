package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy is the mean over the batch of the cross-entropy between the
// softmax of the logits and the labels, with optional label smoothing: PyTorch's
// F.cross_entropy(logits, labels, label_smoothing=LabelSmoothing). Per sample the loss
// is (1-eps)*(-log p_label) + eps*mean over classes of (-log p_k) (Szegedy et al.
// 2016). It keeps the state of its last Forward for Backward and Correct.
type SoftmaxCrossEntropy struct {
	// LabelSmoothing is eps in [0, 1]; 0 is plain cross-entropy.
	LabelSmoothing float64

	n, k    int
	correct int
	ready   bool
	grad    *tensor.Dense
	shape   []int
}

// Forward returns the mean loss of logits, of shape (N, K) or (N, K, 1, 1), against
// labels in [0, K). It subtracts each row's maximum before exponentiating, so large
// logits do not overflow; a non-finite logit gives a non-finite loss, not an error,
// for the caller to detect with math.IsNaN or math.IsInf.
func (l *SoftmaxCrossEntropy) Forward(logits *tensor.Dense, labels []int) (float64, error) {
	n, s, err := ShapeOf(logits)
	if err != nil {
		return 0, fmt.Errorf("cross-entropy: %w", err)
	}
	if s.H != 1 || s.W != 1 {
		return 0, fmt.Errorf("cross-entropy: logits of shape %v, want (N, classes) or (N, classes, 1, 1)", logits.Shape())
	}
	if len(labels) != n {
		return 0, fmt.Errorf("cross-entropy: %d labels for %d samples", len(labels), n)
	}
	k := s.C
	for i, y := range labels {
		if y < 0 || y >= k {
			return 0, fmt.Errorf("cross-entropy: label %d of sample %d not in [0, %d)", y, i, k)
		}
	}
	eps := l.LabelSmoothing
	if !(eps >= 0 && eps <= 1) {
		return 0, fmt.Errorf("cross-entropy: label smoothing %v not in [0, 1]", eps)
	}
	ls := logits.Shape()
	if l.grad == nil || !equalInts(l.shape, ls) {
		l.shape = append(l.shape[:0], ls...)
		l.grad = tensor.New(tensor.WithShape(ls.Clone()...), tensor.WithBacking(make([]float32, n*k)))
	}
	l.n, l.k, l.ready = n, k, true
	xd, gd := logits.Float32s(), l.grad.Float32s()
	var total float64
	correct := 0
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		row, g := xd[i*k:(i+1)*k], gd[i*k:(i+1)*k]
		m, arg := row[0], 0
		for j, v := range row {
			if v > m {
				m, arg = v, j
			}
		}
		if arg == labels[i] {
			correct++
		}
		var se, sum float64
		for _, v := range row {
			se += math.Exp(float64(v - m))
			sum += float64(v)
		}
		lse := float64(m) + math.Log(se)
		y := labels[i]
		total += (1-eps)*(lse-float64(row[y])) + eps*(lse-sum/float64(k))
		// dL/dlogit_j = (p_j - (1-eps)*[j == y] - eps/K) / N.
		for j, v := range row {
			p := math.Exp(float64(v)-lse) - eps/float64(k)
			if j == y {
				p -= 1 - eps
			}
			g[j] = float32(p * inv)
		}
	}
	l.correct = correct
	return total * inv, nil
}

// Backward returns the gradient of the last Forward's loss with respect to its logits,
// in their shape. The tensor is owned by l and overwritten by the next Forward.
func (l *SoftmaxCrossEntropy) Backward() (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("cross-entropy: backward before forward")
	}
	return l.grad, nil
}

// Correct returns how many samples of the last Forward had their label as the
// arg-max logit (the first one on ties).
func (l *SoftmaxCrossEntropy) Correct() int { return l.correct }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
