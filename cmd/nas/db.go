package main

import (
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

// openForReading opens an existing results database read-only.
func openForReading(path string) (*store.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no results database at %s: start a search with 'nas run' or pass --db", path)
	}
	return store.OpenReadOnly(path)
}
