package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"nas/store"
)

type runsOptions struct {
	db   string
	json bool
	tty  bool
	out  io.Writer
}

func newRunsCmd(stdout io.Writer) *cobra.Command {
	o := &runsOptions{out: stdout}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the searches in the results database",
		Long: `List every run in the results database: its id and name, status, strategy,
dataset, budget, how many candidates it evaluated, and when it started.

With --json, prints an array of run objects (fields: id, name, created_at,
updated_at, status, seed, budget_macs, strategy, dataset, config, nas_version,
error, candidates).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			o.tty = isTerminal(o.out)
			return runRuns(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// runSummary is a run with its candidate count, the JSON form of `nas runs`.
type runSummary struct {
	store.Run
	Candidates int `json:"candidates"`
}

func runRuns(ctx context.Context, o *runsOptions) error {
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.Runs(ctx)
	if err != nil {
		return err
	}
	out := make([]runSummary, len(runs))
	for i, r := range runs {
		cs, err := db.Candidates(ctx, r.ID)
		if err != nil {
			return err
		}
		out[i] = runSummary{r, len(cs)}
	}
	if o.json {
		return writeJSON(o.out, out)
	}
	t := table{header: []string{"ID", "NAME", "STATUS", "STRATEGY", "DATASET", "BUDGET_MACS", "CANDIDATES", "CREATED"}}
	for _, r := range out {
		t.add(r.ID, r.Name, r.Status, r.Strategy, r.Dataset, r.BudgetMACs, r.Candidates, r.CreatedAt)
	}
	return t.write(o.out, o.tty)
}
