package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"gorgonia.org/tensor"

	"nas/ops"
)

// Safetensors writes tensors in the safetensors layout (huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header mapping each name to its
// dtype, shape and byte range, padded with spaces to a multiple of 8 bytes, then the
// raw little-endian data in name order. Float32, float64, int64 and int32 tensors
// are supported.
func Safetensors(w io.Writer, tensors map[string]*tensor.Dense) error {
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		if name == "__metadata__" {
			return fmt.Errorf("safetensors: %q is reserved", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	header := make(map[string]entry, len(names))
	blobs := make([][]byte, len(names))
	var off int64
	for i, name := range names {
		t := tensors[name]
		if t == nil {
			return fmt.Errorf("safetensors: tensor %q is nil", name)
		}
		raw, dt, err := littleEndian(t)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		shape := append([]int{}, t.Shape()...)
		if t.IsScalar() {
			shape = []int{}
		}
		header[name] = entry{DType: dt, Shape: shape, Offsets: [2]int64{off, off + int64(len(raw))}}
		blobs[i] = raw
		off += int64(len(raw))
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(h); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, b := range blobs {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
	}
	return nil
}

// littleEndian returns t's values as little-endian bytes and its safetensors dtype.
func littleEndian(t *tensor.Dense) ([]byte, string, error) {
	switch d := t.Data().(type) {
	case []float32:
		b := make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b, "F32", nil
	case []float64:
		b := make([]byte, 8*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b, "F64", nil
	case []int64:
		b := make([]byte, 8*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b, "I64", nil
	case []int32:
		b := make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return b, "I32", nil
	}
	return nil, "", fmt.Errorf("unsupported dtype %v", t.Dtype())
}

// StateDict returns net's exported tensors under their state_dict names: every
// parameter under its path (ops.Params) and every batch norm's running mean and
// variance as PATH.running_mean and PATH.running_var. The tensors share memory with
// the network, except for two weights the layers hold in another form:
//   - a learned group convolution's 1x1 weight (PATH.K.weight, K its last child) is a
//     copy with the dropped connections zeroed: the masked form, which the exporters
//     write (not the converted one, whose parameters differ; zoo.Convert gives it);
//   - a DSConv's weight (PATH.weight) is a copy of the weights its convolution runs
//     on: Dequantized, or without the channel shift when it has one (PATH.cds), which
//     the exported layer multiplies in. The float shadow weights are not exported.
func StateDict(net *ops.Network) map[string]*tensor.Dense {
	sd := make(map[string]*tensor.Dense)
	for _, p := range net.Params() {
		sd[p.Path] = p.Value
	}
	ops.Walk(net.Root(), func(path string, l ops.Layer) {
		switch t := l.(type) {
		case *ops.BatchNorm2D:
			c := t.Channels()
			sd[joinName(path, "running_mean")] = tensor.New(tensor.WithShape(c), tensor.WithBacking(t.RunningMean()))
			sd[joinName(path, "running_var")] = tensor.New(tensor.WithShape(c), tensor.WithBacking(t.RunningVar()))
		case *ops.LearnedGroupConv:
			conv := childPath(path, len(t.Children())-1)
			sd[joinName(conv, "weight")] = maskedWeight(t)
		case *ops.DSConv:
			sd[joinName(path, "weight")] = dsconvWeight(t)
		}
	})
	return sd
}

func joinName(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// CheckSeed seeds the check input that the exports of nas use, so that every
// check.safetensors of a network at a shape holds the same images.
const CheckSeed = 20190501

// CheckBatch is the number of images in a check input.
const CheckBatch = 2

// Check returns a fixed input batch, CheckBatch images drawn from a standard normal
// with a PCG seeded by seed, and net's logits for it in evaluation mode, of shape
// (CheckBatch, classes): what check.safetensors holds under "input" and "logits".
// It leaves the network in evaluation mode.
func Check(net *ops.Network, seed uint64) (input, logits *tensor.Dense, err error) {
	in := net.Input()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	x := make([]float32, CheckBatch*in.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	input = ops.FromSlice(CheckBatch, in, x)
	net.SetTraining(false)
	y, err := net.Forward(input)
	if err != nil {
		return nil, nil, fmt.Errorf("export: check forward: %w", err)
	}
	k := net.OutShape().Size()
	logits = tensor.New(tensor.WithShape(CheckBatch, k), tensor.WithBacking(append([]float32(nil), y.Float32s()...)))
	// The input was wrapped without a copy; give the caller its own.
	input = ops.FromSlice(CheckBatch, in, append([]float32(nil), x...))
	return input, logits, nil
}

// CheckTensors returns Check's input and logits keyed as check.safetensors holds them.
func CheckTensors(net *ops.Network, seed uint64) (map[string]*tensor.Dense, error) {
	x, y, err := Check(net, seed)
	if err != nil {
		return nil, err
	}
	return map[string]*tensor.Dense{"input": x, "logits": y}, nil
}
