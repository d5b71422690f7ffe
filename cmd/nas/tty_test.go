package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestTerminalAndPipedTables runs each read command's table output for a terminal
// (aligned, no tabs) and for a pipe (tab-separated with a header line).
func TestTerminalAndPipedTables(t *testing.T) {
	path, id, _ := seedCandidate(t)
	ctx := context.Background()
	cmds := map[string]func(tty bool, out *bytes.Buffer) error{
		"runs": func(tty bool, out *bytes.Buffer) error {
			return runRuns(ctx, &runsOptions{db: path, tty: tty, out: out})
		},
		"best": func(tty bool, out *bytes.Buffer) error {
			return runBest(ctx, &bestOptions{db: path, tty: tty, out: out})
		},
		"query": func(tty bool, out *bytes.Buffer) error {
			return runQuery(ctx, &queryOptions{db: path, sql: "SELECT id, macs FROM candidates", tty: tty, out: out})
		},
		"zoo": func(tty bool, out *bytes.Buffer) error {
			return runZoo(&zooOptions{name: "reference_net", tty: tty, out: out})
		},
		"show": func(tty bool, out *bytes.Buffer) error {
			return runShow(ctx, &showOptions{db: path, id: id, layers: true, tty: tty, out: out})
		},
	}
	for name, run := range cmds {
		var term, pipe bytes.Buffer
		if err := run(true, &term); err != nil {
			t.Fatalf("%s on a terminal: %v", name, err)
		}
		if err := run(false, &pipe); err != nil {
			t.Fatalf("%s piped: %v", name, err)
		}
		tableOf := func(s string) []string {
			lines := strings.Split(strings.TrimSpace(s), "\n")
			if name == "show" { // the table follows the summary lines
				for i, l := range lines {
					if strings.HasPrefix(strings.TrimSpace(l), "LAYER") {
						return lines[i:]
					}
				}
			}
			return lines
		}
		tl, pl := tableOf(term.String()), tableOf(pipe.String())
		if strings.Contains(strings.Join(tl, "\n"), "\t") || len(tl) < 2 {
			t.Errorf("%s on a terminal should be an aligned table without tabs:\n%s", name, term.String())
		}
		if len(pl) != len(tl) || !strings.Contains(pl[0], "\t") {
			t.Errorf("%s piped should be the same rows tab-separated:\n%s", name, pipe.String())
		}
	}
}
