package export

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"nas/ops"
)

// LayerJSON is one row of a network's layer list (ops.Network.Layers). Its JSON
// field names are a stable contract.
type LayerJSON struct {
	// Path names the layer by the child indices leading to it, as parameter names do.
	Path string `json:"path"`
	// Kind names the layer and its settings, such as "Conv2D 3x3/2 dw".
	Kind string `json:"kind"`
	// Input and Output are the per-sample shapes, written HxWxC.
	Input  string `json:"input"`
	Output string `json:"output"`
	// MACs and Params are the layer's price for one sample (see package ops).
	MACs   int64 `json:"macs"`
	Params int64 `json:"params"`
	// Within describes the learned grouping layer the row is part of, if any: the
	// innermost learned group convolution ("LearnedGroupConv 16->32 G4 C4 stage 3",
	// whose convolution row is priced dense, as trained, with the dropped
	// connections zeroed), scale aggregation or scale branch ("scale_branch /4": max
	// pooling by 4, the row's convolution, resizing back). The rows list leaves only,
	// so this is where those containers appear. A learned group convolution priced
	// as its converted form (ops.LearnedGroupConfig.PriceConverted) is one row of its
	// own, at that price, and no row is within it. Absent for other rows.
	Within string `json:"within,omitempty"`
}

// NetworkJSON is a network's decoded layer list and totals.
type NetworkJSON struct {
	Input  string      `json:"input"`
	Output string      `json:"output"`
	MACs   int64       `json:"macs"`
	Params int64       `json:"params"`
	Layers []LayerJSON `json:"layers"`
}

// Layers returns net's layer list with per-layer shapes and costs, and its totals.
func Layers(net *ops.Network) NetworkJSON {
	c := net.Cost()
	doc := NetworkJSON{Input: net.Input().String(), Output: net.OutShape().String(), MACs: c.MACs, Params: c.Params,
		Layers: []LayerJSON{}}
	within := map[string]string{}
	ops.Walk(net.Root(), func(path string, l ops.Layer) {
		d, ok := l.(ops.Describer)
		if !ok {
			return
		}
		switch l := l.(type) {
		case *ops.LearnedGroupConv:
			// Priced converted, the layer is a row of its own (ops.LearnedGroupConfig).
			if !l.Config().PriceConverted {
				within[path] = d.Describe()
			}
		case *ops.ScaleAggregation, *ops.ScaleBranch:
			within[path] = d.Describe()
		}
	})
	for _, l := range net.Layers() {
		doc.Layers = append(doc.Layers, LayerJSON{Path: l.Path, Kind: l.Kind, Input: l.In.String(), Output: l.Out.String(),
			MACs: l.Cost.MACs, Params: l.Cost.Params, Within: innermost(within, l.Path)})
	}
	return doc
}

// innermost returns the description of the deepest container of within that holds
// the layer at path (or is it), "" if none does.
func innermost(within map[string]string, path string) string {
	for p := path; ; {
		if d, ok := within[p]; ok {
			return d
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			if p == "" {
				return ""
			}
			p = ""
			continue
		}
		p = p[:i]
	}
}

// JSON writes net's layer list and totals (see Layers) as indented JSON.
func JSON(net *ops.Network, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Layers(net)); err != nil {
		return fmt.Errorf("export: json: %w", err)
	}
	return nil
}
