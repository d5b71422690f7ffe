package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"nas/space"
	"nas/store"
)

type bestOptions struct {
	db     string
	run    string
	pareto bool
	budget space.Budget
	top    int
	json   bool
	tty    bool
	out    io.Writer
}

func newBestCmd(stdout io.Writer) *cobra.Command {
	o := &bestOptions{out: stdout}
	cmd := &cobra.Command{
		Use:   "best",
		Short: "Show the best candidates of a run, or its accuracy-vs-MACs front",
		Long: `Show a run's best finished candidates within its budget, most accurate first, or
with --pareto its front at each fidelity (the pareto view of results/SCHEMA.md), by
increasing MACs: the candidates that no other candidate scored at the same fidelity
matches or beats on both accuracy and MACs and beats on one. Scores at different
fidelities (training-set sizes) are not compared, so the table can list an
architecture at a lower rung beside a more accurate score of it at a higher one;
the FIDELITY column says which is which. --budget slices either to a tighter budget.

With --json, prints an array of candidate objects (fields: id, run, seq, generation,
arch_hash, genome, macs, params, proxy_macs, fidelity, accuracy, val_loss,
train_seconds, images_per_sec, cached, status, error, created_at, finished_at).`,
		Example: `  nas best --pareto
  nas best --run run-3 --budget 150MFLOPs --top 5 --json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			o.tty = isTerminal(o.out)
			if o.top < 0 {
				return usagef("--top %d: must be positive", o.top)
			}
			return runBest(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	cmd.Flags().StringVar(&o.run, "run", "", "run id or name (default the latest run)")
	cmd.Flags().BoolVar(&o.pareto, "pareto", false, "show the accuracy-vs-MACs front")
	cmd.Flags().Var(&o.budget, "budget", "only candidates within this many MACs, e.g. 150MFLOPs")
	cmd.Flags().IntVar(&o.top, "top", 10, "how many candidates to show without --pareto (0 for all)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

func runBest(ctx context.Context, o *bestOptions) error {
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := findRun(ctx, db, o.run)
	if err != nil {
		return err
	}
	budget := run.BudgetMACs
	if o.budget > 0 && int64(o.budget) < budget {
		budget = int64(o.budget)
	}
	var cs []store.Candidate
	if o.pareto {
		if cs, err = db.Pareto(ctx, run.ID, "", budget); err != nil {
			return err
		}
	} else {
		all, err := db.Candidates(ctx, run.ID)
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.Status == store.CandDone && c.MACs <= budget {
				cs = append(cs, c)
			}
		}
		sortByAccuracy(cs)
		if o.top > 0 && len(cs) > o.top {
			cs = cs[:o.top]
		}
	}
	if o.json {
		if cs == nil {
			cs = []store.Candidate{}
		}
		return writeJSON(o.out, cs)
	}
	t := table{header: []string{"ID", "GEN", "ACCURACY", "MACS", "PARAMS", "FIDELITY", "HASH"}}
	for _, c := range cs {
		t.add(c.ID, c.Generation, fmt.Sprintf("%.4f", c.Accuracy), humanCount(c.MACs), humanCount(c.Params), c.Fidelity, c.ArchHash)
	}
	return t.write(o.out, o.tty)
}
