package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"nas/store"
)

type resumeOptions struct {
	db     string
	run    string
	out    io.Writer
	errOut io.Writer
}

func newResumeCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &resumeOptions{out: stdout, errOut: stderr}
	cmd := &cobra.Command{
		Use:   "resume RUN",
		Short: "Continue an interrupted or crashed search",
		Long: `Continue a run (by id or name) that was interrupted by Ctrl-C, killed or crashed.
The search replays from its seed: every evaluation that finished before is taken
from the database without training, the evaluations that were in flight are
trained again, and the search goes on from there. The result is the same front
as an uninterrupted run with the same seed and settings.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.run = args[0]
			return runResume(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	return cmd
}

func runResume(ctx context.Context, o *resumeOptions) error {
	// Check that the database exists before Open would create an empty one.
	ro, err := openForReading(o.db)
	if err != nil {
		return err
	}
	ro.Close()
	db, err := store.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	bg := context.Background()
	run, err := db.Run(bg, o.run)
	if err != nil {
		return err
	}
	if run.Status == store.RunFinished {
		return usagef("run %s has finished; nothing to resume (see nas best --run %s)", run.Name, run.Name)
	}
	c, err := loadRunConfig(run)
	if err != nil {
		return err
	}
	sp, err := c.space()
	if err != nil {
		return err
	}
	data, err := openDataset(c.Dataset, c.DataDir, c.ValSize, c.Seed)
	if err != nil {
		return err
	}
	if _, err := db.InterruptRunning(bg, run.ID); err != nil {
		return err
	}
	if err := db.SetRunStatus(bg, run.ID, store.RunRunning, ""); err != nil {
		return err
	}
	cands, err := db.Candidates(bg, run.ID)
	if err != nil {
		return err
	}
	done := 0
	for _, cand := range cands {
		if cand.Status == store.CandDone || cand.Status == store.CandFailed {
			done++
		}
	}
	fmt.Fprintf(o.errOut, "resuming run %s: replaying %d finished evaluations\n", run.Name, done)
	return searchRun(ctx, o.out, o.errOut, db, run, c, sp, data)
}
