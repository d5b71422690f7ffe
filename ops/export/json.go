package export

import (
	"encoding/json"
	"fmt"
	"io"

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
	for _, l := range net.Layers() {
		doc.Layers = append(doc.Layers, LayerJSON{Path: l.Path, Kind: l.Kind, Input: l.In.String(), Output: l.Out.String(),
			MACs: l.Cost.MACs, Params: l.Cost.Params})
	}
	return doc
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
