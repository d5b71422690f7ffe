package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"nas/store"
)

// dbFlag binds --db to p with the default database location.
func dbFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "db", store.DefaultPath, "results database (SQLite file)")
}

// findRun returns the run with the given id or name, or the latest run for "".
func findRun(ctx context.Context, db *store.DB, ref string) (*store.Run, error) {
	if ref == "" {
		return db.LatestRun(ctx)
	}
	return db.Run(ctx, ref)
}

// openForReading opens an existing results database read-only.
func openForReading(path string) (*store.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no results database at %s: start a search with 'nas run' or pass --db", path)
	}
	return store.OpenReadOnly(path)
}
