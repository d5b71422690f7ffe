package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// table is rows of text under a header, printed aligned for people on a terminal
// and tab-separated for programs when piped.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.rows = append(t.rows, row)
}

// write prints the table: aligned columns when tty, else tab-separated values with
// the header as the first line. Tabs and newlines inside cells become spaces.
func (t *table) write(w io.Writer, tty bool) error {
	clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ").Replace(s) }
	line := func(cells []string) string {
		c := make([]string, len(cells))
		for i, s := range cells {
			c[i] = clean(s)
		}
		return strings.Join(c, "\t")
	}
	if !tty {
		var b strings.Builder
		b.WriteString(line(t.header) + "\n")
		for _, r := range t.rows {
			b.WriteString(line(r) + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, line(t.header)+"\t")
	for _, r := range t.rows {
		fmt.Fprintln(tw, line(r)+"\t")
	}
	return tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanCount formats n with thousands separators, as the papers print counts.
func humanCount(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
