package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"nas/ops"
	"nas/ops/zoo"
)

type zooOptions struct {
	name    string
	input   string
	classes int
	layers  bool
	json    bool
	tty     bool
	out     io.Writer
}

func newZooCmd(stdout io.Writer) *cobra.Command {
	o := &zooOptions{out: stdout}
	cmd := &cobra.Command{
		Use:   "zoo [NAME]",
		Short: "List the hand-designed reference networks and their cost",
		Long: `Without a name, list the zoo: the hand-designed networks the search competes with,
each at its reference input shape, with its MACs and parameters counted from the
built network under nas's cost convention (see README.md).

With a name, price that network, at another input shape and class count with
--input and --classes, and with --layers print its per-layer table ending in the
totals.

With --json, the list is an array of objects with the fields name, input (like
"224x224x3"), classes, macs, params and source; a named network is one such object,
with a "layers" array (path, kind, input, output, macs, params) when --layers is given.`,
		Example: `  nas zoo
  nas zoo mobilenet_v2 --input 32x32x3 --classes 10
  nas zoo shufflenet_v2 --layers`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.name = args[0]
			}
			o.tty = isTerminal(o.out)
			if o.name == "" && (cmd.Flags().Changed("input") || cmd.Flags().Changed("classes") || o.layers) {
				return usagef("--input, --classes and --layers need a network name")
			}
			return runZoo(o)
		},
	}
	cmd.Flags().StringVar(&o.input, "input", "", "input shape HxWxC (default the network's reference shape)")
	cmd.Flags().IntVar(&o.classes, "classes", 0, "number of classes (default the network's reference count)")
	cmd.Flags().BoolVar(&o.layers, "layers", false, "print the per-layer table")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// zooEntry is the JSON form of one zoo network.
type zooEntry struct {
	Name    string      `json:"name"`
	Input   string      `json:"input"`
	Classes int         `json:"classes"`
	MACs    int64       `json:"macs"`
	Params  int64       `json:"params"`
	Source  string      `json:"source"`
	Layers  []layerJSON `json:"layers,omitempty"`
}

type layerJSON struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Input  string `json:"input"`
	Output string `json:"output"`
	MACs   int64  `json:"macs"`
	Params int64  `json:"params"`
}

// buildZoo builds a zoo network, turning unknown names and impossible shapes into
// usage errors.
func buildZoo(name string, in ops.Shape, classes int) (*ops.Network, zoo.Spec, error) {
	spec, err := zoo.Lookup(name)
	if err != nil {
		return nil, spec, usageError{err}
	}
	if in == (ops.Shape{}) {
		in = spec.Input
	}
	if classes == 0 {
		classes = spec.Classes
	}
	if classes < 0 {
		return nil, spec, usagef("--classes %d: must be positive", classes)
	}
	net, err := zoo.Build(name, in, classes)
	if errors.Is(err, zoo.ErrInputTooSmall) {
		return nil, spec, usageError{err}
	}
	return net, spec, err
}

func runZoo(o *zooOptions) error {
	if o.name == "" {
		var entries []zooEntry
		for _, s := range zoo.List() {
			net, err := zoo.Build(s.Name, s.Input, s.Classes)
			if err != nil {
				return err
			}
			c := net.Cost()
			entries = append(entries, zooEntry{Name: s.Name, Input: s.Input.String(), Classes: s.Classes, MACs: c.MACs, Params: c.Params, Source: s.Source})
		}
		if o.json {
			return writeJSON(o.out, entries)
		}
		t := table{header: []string{"NAME", "INPUT", "CLASSES", "MACS", "PARAMS"}}
		for _, e := range entries {
			t.add(e.Name, e.Input, e.Classes, humanCount(e.MACs), humanCount(e.Params))
		}
		return t.write(o.out, o.tty)
	}
	var in ops.Shape
	if o.input != "" {
		s, err := ops.ParseShape(o.input)
		if err != nil {
			return usagef("--input: %v", err)
		}
		in = s
	}
	net, spec, err := buildZoo(o.name, in, o.classes)
	if err != nil {
		return err
	}
	c := net.Cost()
	e := zooEntry{Name: spec.Name, Input: net.Input().String(), Classes: net.OutShape().Size(), MACs: c.MACs, Params: c.Params, Source: spec.Source}
	rows := net.Layers()
	if o.layers {
		for _, l := range rows {
			e.Layers = append(e.Layers, layerJSON{Path: l.Path, Kind: l.Kind, Input: l.In.String(), Output: l.Out.String(), MACs: l.Cost.MACs, Params: l.Cost.Params})
		}
	}
	if o.json {
		return writeJSON(o.out, e)
	}
	if !o.layers {
		t := table{header: []string{"NAME", "INPUT", "CLASSES", "MACS", "PARAMS"}}
		t.add(e.Name, e.Input, e.Classes, humanCount(e.MACs), humanCount(e.Params))
		return t.write(o.out, o.tty)
	}
	t := table{header: []string{"LAYER", "KIND", "OUTPUT", "MACS", "PARAMS"}}
	for _, l := range e.Layers {
		t.add(l.Path, l.Kind, l.Output, humanCount(l.MACs), humanCount(l.Params))
	}
	t.add("total", e.Name, fmt.Sprintf("%dx%dx%d", net.OutShape().H, net.OutShape().W, net.OutShape().C), humanCount(c.MACs), humanCount(c.Params))
	return t.write(o.out, o.tty)
}
