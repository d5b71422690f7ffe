package evaluate

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"nas/space"
)

// Fidelity is how much a candidate is trained: on how many training images, for
// how many epochs, at which proxy width multiplier.
type Fidelity struct {
	TrainSize int     `json:"train_size"`
	Epochs    int     `json:"epochs"`
	Width     float64 `json:"width"`
}

// Key is the fidelity as a stable string, part of the evaluation cache's key.
func (f Fidelity) Key() string { return fmt.Sprintf("n%d-e%d-w%g", f.TrainSize, f.Epochs, f.Width) }

// String returns f's key.
func (f Fidelity) String() string { return f.Key() }

// Score is what evaluating a candidate measured: its price at the target shape,
// the proxy that was trained and how well it did on the validation split.
type Score struct {
	MACs         int64    `json:"macs"`
	Params       int64    `json:"params"`
	ProxyMACs    int64    `json:"proxy_macs"`
	ProxyParams  int64    `json:"proxy_params"`
	Fidelity     Fidelity `json:"fidelity"`
	ValAccuracy  float64  `json:"val_accuracy"`
	ValLoss      float64  `json:"val_loss"`
	TrainSeconds float64  `json:"train_seconds"`
	ImagesPerSec float64  `json:"images_per_second"`
	// Diverged is the reason training stopped on a non-finite loss; the accuracy is
	// then 0.
	Diverged string `json:"diverged,omitempty"`
}

// Proxy scores candidates of a space by training their proxy networks on a dataset.
type Proxy struct {
	Space *space.Space
	Data  Dataset
	// Recipe is the training recipe; its Epochs and TrainSize are taken from each
	// evaluation's fidelity.
	Recipe Recipe
	// Seed is the run's seed. A candidate's training seed derives from it and the
	// architecture's hash, so a candidate trains the same wherever and whenever it runs.
	Seed uint64
}

// TrainingSeed returns the seed a candidate with the given hash trains with in a
// run seeded with seed.
func TrainingSeed(seed uint64, hash string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(hash))
	return h.Sum64()
}

// Score prices g at the space's target shape, builds its proxy at the dataset's
// shape and the fidelity's width (see space.BuildOptions), trains it with the
// fidelity's images and epochs and scores it on the validation split.
func (p *Proxy) Score(ctx context.Context, g space.Genome, hash string, f Fidelity) (Score, error) {
	target, err := p.Space.Build(g, space.BuildOptions{})
	if err != nil {
		return Score{}, fmt.Errorf("candidate %s: %w", hash, err)
	}
	s := Score{MACs: target.Cost().MACs, Params: target.Cost().Params, Fidelity: f}
	target = nil // only its cost was needed; let the memory go before training
	net, err := p.Space.Build(g, space.BuildOptions{Input: p.Data.Shape(), Classes: p.Data.Classes(), ProxyWidth: f.Width})
	if err != nil {
		return s, fmt.Errorf("candidate %s: proxy at %v: %w", hash, p.Data.Shape(), err)
	}
	s.ProxyMACs, s.ProxyParams = net.Cost().MACs, net.Cost().Params
	r := p.Recipe
	r.Epochs, r.TrainSize = f.Epochs, f.TrainSize
	res, err := Fit(ctx, net, p.Data, r, TrainingSeed(p.Seed, hash))
	if err != nil {
		return s, fmt.Errorf("candidate %s: %w", hash, err)
	}
	s.TrainSeconds, s.ImagesPerSec = res.Seconds, res.ImagesPerSec
	if res.Diverged != "" {
		s.Diverged = res.Diverged
		return s, nil
	}
	acc, err := Evaluate(net, p.Data, Val, 0)
	if err != nil {
		return s, fmt.Errorf("candidate %s: %w", hash, err)
	}
	s.ValAccuracy, s.ValLoss = acc.Accuracy, acc.Loss
	return s, nil
}
