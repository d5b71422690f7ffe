package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"nas/evaluate"
	"nas/ops"
	"nas/ops/zoo"
	"nas/space"
	"nas/store"
)

type compareOptions struct {
	db        string
	run       string
	top       int
	zoo       string
	trainSize int
	epochs    int
	test      bool
	json      bool
	out       io.Writer
	errOut    io.Writer
}

func newCompareCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &compareOptions{out: stdout, errOut: stderr}
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Train a run's best candidates and zoo baselines scaled into its budget, identically",
		Long: `Train the most accurate members of a run's front and hand-designed zoo networks
scaled into the run's budget, all under identical training: the run's dataset,
recipe, proxy width and proxy derivation (the first stride-2 downsamplings become
stride 1 on small inputs), the same number of training images and epochs, and
seeds derived from the run's seed. A zoo network is scaled into the budget with the
largest width multiplier whose cost at the run's target shape fits (to 1/1000).

Reports each network's MACs and params at the target shape, its width multiplier,
validation accuracy and, with --test, test accuracy.

With --json, prints an array of objects with the fields name, kind ("candidate" or
"zoo"), candidate (the id, for candidates), width, macs, params, proxy_macs,
val_accuracy, val_loss, test_accuracy, train_seconds.`,
		Example: `  nas compare --top 3 --train-size 12000 --epochs 2 --test`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.top < 1 || o.trainSize < 0 || o.epochs < 0 {
				return usagef("--top must be positive, --train-size and --epochs not negative")
			}
			return runCompare(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	cmd.Flags().StringVar(&o.run, "run", "", "run id or name (default the latest run)")
	cmd.Flags().IntVar(&o.top, "top", 1, "how many of the front's most accurate members to train")
	cmd.Flags().StringVar(&o.zoo, "zoo", "mobilenet_v2,shufflenet_v2", "zoo networks to scale into the budget (comma-separated)")
	cmd.Flags().IntVar(&o.trainSize, "train-size", 0, "training images (0: the run's largest fidelity)")
	cmd.Flags().IntVar(&o.epochs, "epochs", 0, "epochs (0: the run's)")
	cmd.Flags().BoolVar(&o.test, "test", false, "also report test accuracy")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// compareRow is one trained network of nas compare.
type compareRow struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Candidate    int64    `json:"candidate,omitempty"`
	Width        float64  `json:"width"`
	MACs         int64    `json:"macs"`
	Params       int64    `json:"params"`
	ProxyMACs    int64    `json:"proxy_macs"`
	ValAccuracy  float64  `json:"val_accuracy"`
	ValLoss      float64  `json:"val_loss"`
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	TrainSeconds float64  `json:"train_seconds"`
}

func runCompare(ctx context.Context, o *compareOptions) error {
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := findRun(ctx, db, o.run)
	if err != nil {
		return err
	}
	cfg, err := loadRunConfig(run)
	if err != nil {
		return err
	}
	sp, err := cfg.space()
	if err != nil {
		return err
	}
	target, _ := cfg.target()
	// The front at the run's highest fidelity, where its members were compared.
	front, err := db.Pareto(ctx, run.ID, cfg.Dataset+"/"+cfg.Fidelities[len(cfg.Fidelities)-1].Key(), 0)
	if err != nil {
		return err
	}
	if len(front) == 0 {
		if front, err = db.Pareto(ctx, run.ID, "", 0); err != nil {
			return err
		}
	}
	if len(front) == 0 {
		return fmt.Errorf("run %s has no front yet", run.Name)
	}
	// The most accurate members of the front at its highest fidelity.
	best := map[string]store.Candidate{}
	for _, c := range front {
		if b, ok := best[c.ArchHash]; !ok || c.Accuracy > b.Accuracy {
			best[c.ArchHash] = c
		}
	}
	var picks []store.Candidate
	for _, c := range best {
		picks = append(picks, c)
	}
	sortByAccuracy(picks)
	if len(picks) > o.top {
		picks = picks[:o.top]
	}
	fid := cfg.Fidelities[len(cfg.Fidelities)-1]
	if o.trainSize > 0 {
		fid.TrainSize = o.trainSize
	}
	if o.epochs > 0 {
		fid.Epochs = o.epochs
	}
	data, err := openDataset(cfg.Dataset, cfg.DataDir, cfg.ValSize, cfg.Seed)
	if err != nil {
		return err
	}
	recipe := cfg.Recipe
	recipe.Epochs, recipe.TrainSize = fid.Epochs, fid.TrainSize
	train := func(name string, net *ops.Network, seed uint64, row compareRow) (compareRow, error) {
		fmt.Fprintf(o.errOut, "training %s (%s MACs at %s, proxy %s MACs) on %d %s images for %d epochs\n", name,
			humanCount(row.MACs), cfg.Target, humanCount(net.Cost().MACs), fid.TrainSize, cfg.Dataset, fid.Epochs)
		res, err := evaluate.Fit(ctx, net, data, recipe, seed)
		if err != nil {
			return row, fmt.Errorf("%s: %w", name, err)
		}
		row.ProxyMACs, row.TrainSeconds = net.Cost().MACs, res.Seconds
		if res.Diverged != "" {
			return row, fmt.Errorf("%s: training diverged: %s", name, res.Diverged)
		}
		a, err := evaluate.Evaluate(net, data, evaluate.Val, 0)
		if err != nil {
			return row, err
		}
		row.ValAccuracy, row.ValLoss = a.Accuracy, a.Loss
		if o.test {
			t, err := evaluate.Evaluate(net, data, evaluate.Test, 0)
			if err != nil {
				return row, err
			}
			row.TestAccuracy = &t.Accuracy
		}
		return row, nil
	}
	var rows []compareRow
	for _, c := range picks {
		g, err := loadGenome(&c)
		if err != nil {
			return err
		}
		net, err := sp.Build(g, space.BuildOptions{Input: data.Shape(), Classes: data.Classes(), ProxyWidth: fid.Width})
		if err != nil {
			return err
		}
		name := "candidate " + strconv.FormatInt(c.ID, 10)
		row, err := train(name, net, evaluate.TrainingSeed(cfg.Seed, c.ArchHash),
			compareRow{Name: name, Kind: "candidate", Candidate: c.ID, Width: g.WidthMult, MACs: c.MACs, Params: c.Params})
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	for _, name := range strings.Split(o.zoo, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		w, cost, err := zoo.FitWidth(name, int64(cfg.Budget), zoo.Options{Input: target, Classes: cfg.Classes})
		if err != nil {
			return usageError{fmt.Errorf("--zoo %s: %w", name, err)}
		}
		net, err := zoo.BuildWith(name, zoo.Options{Input: data.Shape(), Classes: data.Classes(), Width: w * fid.Width,
			ProxyStrides: zoo.ProxyStridesFor(target, data.Shape())})
		if err != nil {
			return fmt.Errorf("--zoo %s: %w", name, err)
		}
		label := fmt.Sprintf("%s x%.3g", name, w)
		row, err := train(label, net, evaluate.TrainingSeed(cfg.Seed, "zoo/"+name),
			compareRow{Name: label, Kind: "zoo", Width: w, MACs: cost.MACs, Params: cost.Params})
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	if o.json {
		return writeJSON(o.out, rows)
	}
	t := table{header: []string{"NAME", "WIDTH", "MACS", "PARAMS", "PROXY_MACS", "VAL_ACC", "TEST_ACC", "SECONDS"}}
	for _, r := range rows {
		test := "-"
		if r.TestAccuracy != nil {
			test = fmt.Sprintf("%.4f", *r.TestAccuracy)
		}
		t.add(r.Name, fmt.Sprintf("%.3g", r.Width), humanCount(r.MACs), humanCount(r.Params), humanCount(r.ProxyMACs),
			fmt.Sprintf("%.4f", r.ValAccuracy), test, fmt.Sprintf("%.1f", r.TrainSeconds))
	}
	return t.write(o.out, isTerminal(o.out))
}

// sortByAccuracy orders candidates by decreasing accuracy, then increasing MACs.
func sortByAccuracy(cs []store.Candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Accuracy != cs[j].Accuracy {
			return cs[i].Accuracy > cs[j].Accuracy
		}
		return cs[i].MACs < cs[j].MACs
	})
}
