package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"nas/space"
	"nas/store"
)

type showOptions struct {
	db     string
	id     int64
	layers bool
	json   bool
	tty    bool
	out    io.Writer
}

func newShowCmd(stdout io.Writer) *cobra.Command {
	o := &showOptions{out: stdout}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one evaluated candidate: its scores, its genome and its network",
		Long: `Show a candidate of the results database: its run, scores, fidelity and genome,
decoded into its deployment network at the run's target shape, and with --layers
that network's per-layer table (layer, kind, output shape, MACs, params).

With --json, prints the candidate object (as nas best --json) with a "network"
object (input, classes, macs, params and, with --layers, "layers").`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("candidate id %q: want a positive number (see nas best)", args[0])
			}
			o.id, o.tty = id, isTerminal(o.out)
			return runShow(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	cmd.Flags().BoolVar(&o.layers, "layers", false, "print the per-layer table")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

type networkJSON struct {
	Input   string      `json:"input"`
	Classes int         `json:"classes"`
	MACs    int64       `json:"macs"`
	Params  int64       `json:"params"`
	Layers  []layerJSON `json:"layers,omitempty"`
}

type showJSON struct {
	store.Candidate
	RunName string      `json:"run_name"`
	Network networkJSON `json:"network"`
}

func runShow(ctx context.Context, o *showOptions) error {
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Candidate(ctx, o.id)
	if err != nil {
		return err
	}
	r, err := db.Run(ctx, strconv.FormatInt(c.RunID, 10))
	if err != nil {
		return err
	}
	cfg, err := loadRunConfig(r)
	if err != nil {
		return err
	}
	sp, err := cfg.space()
	if err != nil {
		return err
	}
	g, err := loadGenome(c)
	if err != nil {
		return err
	}
	net, err := sp.Build(g, space.BuildOptions{})
	if err != nil {
		return fmt.Errorf("candidate %d: %w", c.ID, err)
	}
	out := showJSON{Candidate: *c, RunName: r.Name, Network: networkJSON{Input: net.Input().String(),
		Classes: net.OutShape().Size(), MACs: net.Cost().MACs, Params: net.Cost().Params}}
	if o.layers {
		for _, l := range net.Layers() {
			out.Network.Layers = append(out.Network.Layers, layerJSON{Path: l.Path, Kind: l.Kind, Input: l.In.String(),
				Output: l.Out.String(), MACs: l.Cost.MACs, Params: l.Cost.Params})
		}
	}
	if o.json {
		return writeJSON(o.out, out)
	}
	fmt.Fprintf(o.out, "candidate %d of %s (generation %d, seq %d), %s\n", c.ID, r.Name, c.Generation, c.Seq, c.Status)
	fmt.Fprintf(o.out, "accuracy %.4f  val_loss %.4f  fidelity %s  trained %.1fs%s\n", c.Accuracy, c.ValLoss, c.Fidelity,
		c.TrainSeconds, map[bool]string{true: " (cached)", false: ""}[c.Cached])
	fmt.Fprintf(o.out, "MACs %s  params %s at %s, %d classes; proxy MACs %s\n", humanCount(c.MACs), humanCount(c.Params),
		out.Network.Input, out.Network.Classes, humanCount(c.ProxyMACs))
	fmt.Fprintf(o.out, "hash %s\ngenome %s\n", c.ArchHash, g)
	if c.Error != "" {
		fmt.Fprintf(o.out, "error: %s\n", c.Error)
	}
	if !o.layers {
		return nil
	}
	t := table{header: []string{"LAYER", "KIND", "OUTPUT", "MACS", "PARAMS"}}
	for _, l := range out.Network.Layers {
		t.add(l.Path, l.Kind, l.Output, humanCount(l.MACs), humanCount(l.Params))
	}
	t.add("total", "", out.Network.Input, humanCount(out.Network.MACs), humanCount(out.Network.Params))
	return t.write(o.out, o.tty)
}
