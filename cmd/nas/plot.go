package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/vg"

	"nas/space"
	"nas/store"
)

type plotOptions struct {
	db          string
	run         string
	out         string
	hypervolume bool
	fidelity    string
	// width and height are the size of the figure; 0 means 16cm by 10cm.
	width, height lengthFlag
	// dpi is the resolution of PNG output; 0 means 150 (16cm is then 945 pixels wide).
	dpi  int
	refs refFlag
	// stderr receives one line saying what was written.
	stderr io.Writer
}

func newPlotCmd(stdout, stderr io.Writer) *cobra.Command {
	_ = stdout // The plot goes to a file; stdout stays free for data.
	o := &plotOptions{stderr: stderr, width: lengthFlag(defaultPlotWidth), height: lengthFlag(defaultPlotHeight)}
	cmd := &cobra.Command{
		Use:   "plot -o FILE.png|FILE.svg",
		Short: "Draw a run's accuracy-vs-MACs front, or its hypervolume per generation",
		Long: `Draw a run's results from the results database into a PNG or SVG file (chosen
by the extension of -o).

By default the figure shows proxy validation accuracy against MACs at the target
shape (log scale) for every finished candidate of the run, the feasible Pareto front
as a step line (extended to the budget, the area the hypervolume measures), the
budget as a vertical line, and any --ref networks as labelled points. A run that
scored candidates at several fidelities has its front drawn at the highest one
(most training images x epochs x width, or --fidelity); candidates scored at the
others are drawn in grey.

With --hypervolume it draws instead the hypervolume of the front after each
generation, read from the "hypervolume" number of each checkpoint's state.`,
		Example: `  nas plot -o front.png
  nas plot --run run-3 -o front.svg --ref mobilenet_v2=290M:0.912 --ref shufflenet_v2=146M:0.905
  nas plot --hypervolume -o hv.png --width 12cm --height 8cm`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runPlot(context.Background(), o)
		},
	}
	dbFlag(cmd, &o.db)
	f := cmd.Flags()
	f.StringVar(&o.run, "run", "", "run id or name (default the latest run)")
	f.StringVarP(&o.out, "output", "o", "", "file to write, FILE.png or FILE.svg (required)")
	f.BoolVar(&o.hypervolume, "hypervolume", false, "draw the front's hypervolume per generation instead")
	f.StringVar(&o.fidelity, "fidelity", "", "draw the front at this fidelity (default the highest the run reached)")
	f.Var(&o.width, "width", "figure width, e.g. 16cm, 6in, 450pt")
	f.Var(&o.height, "height", "figure height")
	f.IntVar(&o.dpi, "dpi", defaultPlotDPI, "resolution of PNG output, in dots per inch")
	f.Var(&o.refs, "ref", "a reference network as NAME=MACS:ACCURACY, e.g. mobilenet_v2=290M:0.912 (repeatable)")
	return cmd
}

// Figure defaults: a size that reads well in a README and on a slide.
const (
	defaultPlotWidth  = 16 * vg.Centimeter
	defaultPlotHeight = 10 * vg.Centimeter
	defaultPlotDPI    = 150
)

// plotFormat returns the image format of path from its extension, "png" or "svg".
func plotFormat(path string) (string, error) {
	if path == "" {
		return "", usagef("-o: missing output file, e.g. -o front.png or -o front.svg")
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".svg":
		return ext[1:], nil
	default:
		return "", usagef("-o %s: unknown image format %q, want a .png or .svg file", path, ext)
	}
}

func runPlot(ctx context.Context, o *plotOptions) error {
	format, err := plotFormat(o.out)
	if err != nil {
		return err
	}
	w, h := vg.Length(o.width), vg.Length(o.height)
	if w == 0 {
		w = defaultPlotWidth
	}
	if h == 0 {
		h = defaultPlotHeight
	}
	dpi := o.dpi
	if dpi == 0 {
		dpi = defaultPlotDPI
	}
	if dpi < 1 || dpi > 1200 {
		return usagef("--dpi %d: want a resolution between 1 and 1200 dots per inch", o.dpi)
	}
	db, err := openForReading(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := findRun(ctx, db, o.run)
	if err != nil {
		return err
	}

	var fig figure
	var summary string
	if o.hypervolume {
		hv, err := loadHypervolume(ctx, db, run)
		if err != nil {
			return err
		}
		if fig, err = hypervolumeFigure(run, hv); err != nil {
			return err
		}
		summary = fmt.Sprintf("hypervolume of %d generations", len(hv))
	} else {
		d, err := loadFront(ctx, db, run, o.fidelity)
		if err != nil {
			return err
		}
		d.refs = o.refs
		if fig, err = frontFigure(d); err != nil {
			return err
		}
		summary = fmt.Sprintf("%d candidates, front of %d at %s", len(d.points)+len(d.others), len(d.front), d.fidelity)
	}

	// Render into memory first, so that a failure leaves no half-written file.
	var buf bytes.Buffer
	if err := fig.render(&buf, format, w, h, dpi); err != nil {
		return fmt.Errorf("plot %s: %w", o.out, err)
	}
	if err := os.WriteFile(o.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if o.stderr != nil {
		fmt.Fprintf(o.stderr, "wrote %s (%s: %s)\n", o.out, run.Name, summary)
	}
	return nil
}

// frontData is what the accuracy-vs-MACs figure shows.
type frontData struct {
	run *store.Run
	// fidelity is the proxy setting the front is drawn at.
	fidelity string
	// points are the run's finished candidates at fidelity; others, at other fidelities.
	points, others []store.Candidate
	// front is the feasible Pareto front at fidelity, by increasing MACs.
	front []store.Candidate
	// refs are labelled reference networks.
	refs []refPoint
}

// loadFront reads a run's finished candidates and its front at fidelity, or at the
// highest fidelity the run reached when fidelity is empty.
func loadFront(ctx context.Context, db *store.DB, run *store.Run, fidelity string) (*frontData, error) {
	all, err := db.Candidates(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", run.Name, err)
	}
	var done []store.Candidate
	for _, c := range all {
		if c.Status == store.CandDone {
			done = append(done, c)
		}
	}
	if len(done) == 0 {
		return nil, fmt.Errorf("run %s has no finished candidates to plot (%d started)", run.Name, len(all))
	}
	fids := fidelities(done)
	if fidelity == "" {
		fidelity = fids[len(fids)-1]
	} else if !slices.Contains(fids, fidelity) {
		return nil, usagef("--fidelity %s: run %s has no finished candidates at it; it has %s",
			fidelity, run.Name, strings.Join(fids, ", "))
	}
	d := &frontData{run: run, fidelity: fidelity}
	for _, c := range done {
		if c.Fidelity == fidelity {
			d.points = append(d.points, c)
		} else {
			d.others = append(d.others, c)
		}
	}
	if d.front, err = db.Pareto(ctx, run.ID, fidelity, 0); err != nil {
		return nil, fmt.Errorf("run %s: front at %s: %w", run.Name, fidelity, err)
	}
	return d, nil
}

// fidelities returns the distinct fidelities of cs from the lowest to the highest.
// A fidelity key ends in "nN-eE-wW" (training images, epochs, proxy width; see
// search.Fidelity.Key, with the dataset before a slash in the database); its
// height is the training work N*E*W, the order of the rungs of the search's
// successive halving. Keys in another form rank below those, then by how many
// candidates were scored at them.
func fidelities(cs []store.Candidate) []string {
	count := map[string]int{}
	for _, c := range cs {
		count[c.Fidelity]++
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(fidelityWork(a), fidelityWork(b)), cmp.Compare(count[a], count[b]), strings.Compare(a, b))
	})
	return keys
}

// fidelityWork returns N*E*W of a fidelity key ending in "nN-eE-wW", or -1.
func fidelityWork(key string) float64 {
	key = key[strings.LastIndex(key, "/")+1:]
	parts := strings.Split(key, "-")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "n") || !strings.HasPrefix(parts[1], "e") || !strings.HasPrefix(parts[2], "w") {
		return -1
	}
	n, err1 := strconv.ParseFloat(parts[0][1:], 64)
	e, err2 := strconv.ParseFloat(parts[1][1:], 64)
	w, err3 := strconv.ParseFloat(parts[2][1:], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return -1
	}
	return n * e * w
}

// hvPoint is the hypervolume of a run's front after one generation.
type hvPoint struct {
	Generation  int
	Hypervolume float64
}

// loadHypervolume reads the hypervolume after each generation of a run from its
// checkpoints. The contract with the search: each checkpoint's state is a JSON
// object whose top-level "hypervolume" field is a number, the area dominated by the
// front in the plane (MACs/budget, accuracy) up to the reference point (1, 0) (see
// search/hypervolume.go). Checkpoints without the field (a strategy that does not
// report it) are left out; a run none of whose checkpoints has it is an error.
func loadHypervolume(ctx context.Context, db *store.DB, run *store.Run) ([]hvPoint, error) {
	// store has no query for every checkpoint of a run (only LatestCheckpoint), so
	// read the table, whose columns results/SCHEMA.md documents as stable.
	rows, err := db.SQL().QueryContext(ctx, `SELECT generation, state FROM checkpoints WHERE run_id = ? ORDER BY generation`, run.ID)
	if err != nil {
		return nil, fmt.Errorf("run %s: read checkpoints: %w", run.Name, err)
	}
	defer rows.Close()
	var hv []hvPoint
	n := 0
	for rows.Next() {
		var gen int
		var state string
		if err := rows.Scan(&gen, &state); err != nil {
			return nil, fmt.Errorf("run %s: read checkpoints: %w", run.Name, err)
		}
		n++
		var s struct {
			Hypervolume *float64 `json:"hypervolume"`
		}
		if err := json.Unmarshal([]byte(state), &s); err != nil {
			return nil, fmt.Errorf("run %s: checkpoint of generation %d: hypervolume: %w", run.Name, gen, err)
		}
		if s.Hypervolume != nil {
			hv = append(hv, hvPoint{gen, *s.Hypervolume})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run %s: read checkpoints: %w", run.Name, err)
	}
	if len(hv) == 0 {
		if n == 0 {
			return nil, fmt.Errorf("run %s has no finished generations yet: no hypervolume to plot", run.Name)
		}
		return nil, fmt.Errorf("run %s: none of its %d checkpoints records a hypervolume", run.Name, n)
	}
	return hv, nil
}

// refPoint is a labelled reference network on the front figure, such as a zoo
// network trained at the run's proxy settings.
type refPoint struct {
	Name     string
	MACs     int64
	Accuracy float64
}

// refFlag is the repeatable --ref NAME=MACS:ACCURACY flag.
type refFlag []refPoint

// parseRef parses NAME=MACS:ACCURACY: MACS as a budget ("290M", "290MFLOPs",
// "290000000") and ACCURACY as a fraction in [0, 1] or a percentage ("91.2%").
func parseRef(s string) (refPoint, error) {
	const want = "want NAME=MACS:ACCURACY, e.g. mobilenet_v2=290M:0.912"
	name, rest, ok := strings.Cut(s, "=")
	macsText, accText, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || strings.TrimSpace(name) == "" {
		return refPoint{}, fmt.Errorf("%q: %s", s, want)
	}
	macs, err := space.ParseBudget(macsText)
	if err != nil {
		return refPoint{}, fmt.Errorf("%q: MACs: %w", s, err)
	}
	scale, t := 1.0, strings.TrimSpace(accText)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		scale, t = 100, p
	}
	acc, err := strconv.ParseFloat(t, 64)
	if err != nil || !(acc/scale >= 0 && acc/scale <= 1) {
		return refPoint{}, fmt.Errorf("%q: accuracy %q: want a fraction in [0, 1] or a percentage such as 91.2%%", s, accText)
	}
	return refPoint{Name: strings.TrimSpace(name), MACs: int64(macs), Accuracy: acc / scale}, nil
}

// Set implements pflag.Value, adding one reference point.
func (r *refFlag) Set(s string) error {
	p, err := parseRef(s)
	if err != nil {
		return err
	}
	*r = append(*r, p)
	return nil
}

// String implements pflag.Value.
func (r *refFlag) String() string {
	var parts []string
	for _, p := range *r {
		parts = append(parts, fmt.Sprintf("%s=%d:%g", p.Name, p.MACs, p.Accuracy))
	}
	return strings.Join(parts, ",")
}

// Type implements pflag.Value.
func (r *refFlag) Type() string { return "name=macs:acc" }

// lengthFlag is a figure dimension such as 16cm, 6in or 450pt.
type lengthFlag vg.Length

// Set implements pflag.Value.
func (l *lengthFlag) Set(s string) error {
	v, err := vg.ParseLength(s)
	if err != nil {
		return fmt.Errorf("length %q: want a number with mm, cm, in or pt, e.g. 16cm", s)
	}
	// Below 2cm nothing but the axes fits; above a metre is surely a typo.
	if v < 2*vg.Centimeter || v > 100*vg.Centimeter {
		return fmt.Errorf("length %q: want between 2cm and 100cm", s)
	}
	*l = lengthFlag(v)
	return nil
}

// String implements pflag.Value.
func (l *lengthFlag) String() string {
	return strconv.FormatFloat(float64(vg.Length(*l)/vg.Centimeter), 'f', -1, 64) + "cm"
}

// Type implements pflag.Value.
func (l *lengthFlag) Type() string { return "length" }
