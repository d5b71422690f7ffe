package ops

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// fixture is one PyTorch golden case written by testdata/gen/fixture.py: named
// float32 tensors and the case's configuration.
type fixture struct {
	name    string
	config  map[string]any
	tensors map[string]*tensor.Dense
}

// loadFixtures reads every fixture whose file name starts with prefix.
func loadFixtures(t *testing.T, prefix string) []*fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fixtures", prefix+"*.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no fixtures testdata/fixtures/%s*.safetensors: run the generators in testdata/gen", prefix)
	}
	sort.Strings(paths)
	var fs []*fixture
	for _, p := range paths {
		f, err := readFixture(p)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

func readFixture(path string) (*fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: too short", path)
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: header length %d past the end", path, hl)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &header); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	data := b[8+hl:]
	f := &fixture{
		name:    strings.TrimSuffix(filepath.Base(path), ".safetensors"),
		tensors: map[string]*tensor.Dense{},
	}
	for k, raw := range header {
		if k == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, fmt.Errorf("%s: metadata: %w", path, err)
			}
			if err := json.Unmarshal([]byte(meta["config"]), &f.config); err != nil {
				return nil, fmt.Errorf("%s: config: %w", path, err)
			}
			continue
		}
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", path, k, err)
		}
		if e.Dtype != "F32" || e.Offsets[0] < 0 || e.Offsets[1] > len(data) || e.Offsets[0] > e.Offsets[1] {
			return nil, fmt.Errorf("%s: tensor %s: bad entry %+v", path, k, e)
		}
		vals := make([]float32, (e.Offsets[1]-e.Offsets[0])/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[e.Offsets[0]+4*i:]))
		}
		shape := e.Shape
		if len(shape) == 0 {
			shape = []int{1}
		}
		f.tensors[k] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
	}
	return f, nil
}

// tensor returns the named tensor, failing the test if it is missing.
func (f *fixture) tensor(t *testing.T, name string) *tensor.Dense {
	t.Helper()
	d, ok := f.tensors[name]
	if !ok {
		t.Fatalf("%s: no tensor %q", f.name, name)
	}
	return d
}

// int returns an integer from the configuration.
func (f *fixture) int(t *testing.T, key string) int {
	t.Helper()
	v, ok := f.config[key].(float64)
	if !ok {
		t.Fatalf("%s: config has no number %q", f.name, key)
	}
	return int(v)
}

// float returns a number from the configuration.
func (f *fixture) float(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := f.config[key].(float64)
	if !ok {
		t.Fatalf("%s: config has no number %q", f.name, key)
	}
	return v
}

// str returns a string from the configuration.
func (f *fixture) str(t *testing.T, key string) string {
	t.Helper()
	v, ok := f.config[key].(string)
	if !ok {
		t.Fatalf("%s: config has no string %q", f.name, key)
	}
	return v
}

// assertClose fails unless got and want have the same shape and every element
// satisfies |got-want| <= tol*(1+|want|), a mixed absolute/relative tolerance.
func assertClose(t *testing.T, what string, got, want *tensor.Dense, tol float64) {
	t.Helper()
	if got.Shape().TotalSize() != want.Shape().TotalSize() {
		t.Fatalf("%s: %v values, want %v", what, got.Shape(), want.Shape())
	}
	g, w := got.Float32s(), want.Float32s()
	worst, at := 0.0, -1
	for i := range w {
		d := math.Abs(float64(g[i])-float64(w[i])) / (1 + math.Abs(float64(w[i])))
		if d > worst || math.IsNaN(float64(g[i])) {
			worst, at = d, i
		}
	}
	if worst > tol || (at >= 0 && math.IsNaN(float64(g[at]))) {
		t.Errorf("%s: element %d = %v, want %v (scaled error %.3g > tolerance %.3g)", what, at, g[at], w[at], worst, tol)
	}
}

// copyInto copies src's values into dst, which must have as many.
func copyInto(t *testing.T, dst, src *tensor.Dense) {
	t.Helper()
	if len(dst.Float32s()) != len(src.Float32s()) {
		t.Fatalf("copy: %v values into %v", src.Shape(), dst.Shape())
	}
	copy(dst.Float32s(), src.Float32s())
}

// clone returns a deep copy of t.
func clone(t *tensor.Dense) *tensor.Dense {
	v := append([]float32(nil), t.Float32s()...)
	return tensor.New(tensor.WithShape(t.Shape().Clone()...), tensor.WithBacking(v))
}

// fixtureTol is the tolerance for comparing float32 results with PyTorch's:
// both sum in float32 but in different orders, so results differ by a few ulps per
// term; over the few hundred terms of these small cases that stays below 1e-4 of the
// values' scale, while a wrong index or a missing term is off by far more.
const fixtureTol = 1e-4
