package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

type queryOptions struct {
	db   string
	sql  string
	json bool
	tty  bool
	out  io.Writer
}

func newQueryCmd(stdout io.Writer) *cobra.Command {
	o := &queryOptions{out: stdout}
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run a read-only SQL query on the results database",
		Long: `Run one read-only SQL statement on the results database and print its rows.
The database is opened read-only, so statements that write are refused. The schema
is documented in results/SCHEMA.md.

With --json, prints an array of objects keyed by column name.`,
		Example: `  nas query "SELECT id, accuracy, macs FROM pareto WHERE run_id = 1"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.sql, o.tty = args[0], isTerminal(o.out)
			return runQuery(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

func runQuery(ctx context.Context, o *queryOptions) error {
	if strings.TrimSpace(o.sql) == "" {
		return usagef("query: empty SQL")
	}
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(ctx, o.sql)
	if err != nil {
		if strings.Contains(err.Error(), "readonly") || strings.Contains(err.Error(), "read-only") {
			return usagef("query: nas query is read-only; the statement would write: %v", err)
		}
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	t := table{header: cols}
	var objs []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		obj := map[string]any{}
		cells := make([]any, len(cols))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			obj[cols[i]] = v
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = v
			}
		}
		objs = append(objs, obj)
		t.add(cells...)
	}
	if err := rows.Err(); err != nil {
		if strings.Contains(err.Error(), "readonly") {
			return usagef("query: nas query is read-only; the statement would write: %v", err)
		}
		return fmt.Errorf("query: %w", err)
	}
	if o.json {
		if objs == nil {
			objs = []map[string]any{}
		}
		return writeJSON(o.out, objs)
	}
	return t.write(o.out, o.tty)
}
