package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"gonum.org/v1/plot/text"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"nas/store"
)

// Fidelities of the test run: a cheap first rung and a promoted second one, in the
// form the database stores (dataset/search.Fidelity.Key()).
const (
	plotLowFid  = "mnist/n1000-e1-w0.5"
	plotHighFid = "mnist/n4000-e2-w0.5"
	plotBudget  = 300_000_000
)

// plotRun is what seedPlotDB wrote, for the tests to check the figures against.
type plotRun struct {
	path      string
	name      string
	low, high []store.Candidate // finished candidates at each fidelity
	hv        []float64         // hypervolume of generations 0, 1, ...
}

// seedPlotDB writes a run like a two-rung search's: candidates at the low fidelity,
// the best of them again at the high one, a failed and a running evaluation, and a
// checkpoint with a hypervolume per generation. The accuracies grow with log MACs
// plus noise, the shape real fronts have.
func seedPlotDB(t *testing.T) plotRun {
	t.Helper()
	pr := plotRun{path: filepath.Join(t.TempDir(), "nas.db")}
	db, err := store.Open(pr.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r := &store.Run{Seed: 1, BudgetMACs: plotBudget, Strategy: "nsga2", Dataset: "mnist", Version: "test"}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	pr.name = r.Name
	rng := rand.New(rand.NewPCG(1, 2))
	seq := 0
	add := func(gen int, hash string, macs int64, fid, status string, acc float64) store.Candidate {
		c := &store.Candidate{RunID: r.ID, Seq: seq, Generation: gen, ArchHash: hash, Genome: json.RawMessage(`{}`),
			MACs: macs, Params: macs / 100, Fidelity: fid}
		seq++
		if err := db.StartCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
		if status == store.CandRunning {
			return *c
		}
		c.Status, c.Accuracy = status, acc
		if status == store.CandFailed {
			c.Error = "loss diverged"
		}
		if err := db.FinishCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
		return *c
	}
	for gen := range 4 {
		var cohort []store.Candidate
		for i := range 10 {
			// MACs log-uniform in [20M, 500M], some beyond the 300M budget.
			macs := int64(20e6 * math.Pow(25, rng.Float64()))
			acc := 0.80 + 0.06*math.Log10(float64(macs)/20e6) + 0.03*rng.Float64()
			c := add(gen, fmt.Sprintf("g%d-%d", gen, i), macs, plotLowFid, store.CandDone, acc)
			cohort = append(cohort, c)
			pr.low = append(pr.low, c)
		}
		slices.SortFunc(cohort, func(a, b store.Candidate) int { return -cmpFloat(a.Accuracy, b.Accuracy) })
		for _, c := range cohort[:3] {
			pr.high = append(pr.high, add(gen, c.ArchHash, c.MACs, plotHighFid, store.CandDone, c.Accuracy+0.02))
		}
		if err := db.SaveCheckpoint(ctx, r.ID, gen, json.RawMessage(fmt.Sprintf(`{"hypervolume": %g}`, 0.5+0.1*float64(gen))), nil); err != nil {
			t.Fatal(err)
		}
		pr.hv = append(pr.hv, 0.5+0.1*float64(gen))
	}
	add(4, "bad", 50e6, plotLowFid, store.CandFailed, 0)
	add(4, "busy", 60e6, plotLowFid, store.CandRunning, 0)
	return pr
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// bruteFront returns how many of cs are within budget and dominated by none of the
// others within budget: the definition of the store's pareto view, recomputed here.
func bruteFront(cs []store.Candidate, budget int64) int {
	n := 0
	for _, c := range cs {
		if c.MACs > budget {
			continue
		}
		dominated := false
		for _, d := range cs {
			if d.MACs <= budget && d.Accuracy >= c.Accuracy && d.MACs <= c.MACs && (d.Accuracy > c.Accuracy || d.MACs < c.MACs) {
				dominated = true
			}
		}
		if !dominated {
			n++
		}
	}
	return n
}

// pngSize returns the pixel size vgimg gives a w by h canvas at dpi: inches times
// dots per inch, rounded (vgimg.NewWith).
func pngSize(w, h vg.Length, dpi int) image.Point {
	px := func(l vg.Length) int { return int(float64(l/vg.Inch)*float64(dpi) + 0.5) }
	return image.Point{px(w), px(h)}
}

// decodePNG reads a PNG file and checks that it decodes.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	return img
}

// countColour returns how many pixels of img are exactly c (opaque colours only,
// which anti-aliasing leaves exact inside strokes and glyphs).
func countColour(img image.Image, c interface{ RGBA() (r, g, b, a uint32) }) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r == r0 && g == g0 && b == b0 {
				n++
			}
		}
	}
	return n
}

func TestPlotFront(t *testing.T) {
	pr := seedPlotDB(t)
	refs := refFlag{{Name: "mobilenet_v2", MACs: 290e6, Accuracy: 0.912}, {Name: "shufflenet_v2", MACs: 146e6, Accuracy: 0.905}}
	wantFront := bruteFront(pr.high, plotBudget)
	if wantFront == 0 {
		t.Fatal("test run has an empty front; the seed data are wrong")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		file          string
		width, height lengthFlag
		dpi           int
	}{
		{"front.png", 0, 0, 0},
		{"small.PNG", lengthFlag(12 * vg.Centimeter), lengthFlag(8 * vg.Centimeter), 100},
		{"front.svg", 0, 0, 0},
	} {
		var errb bytes.Buffer
		o := &plotOptions{db: pr.path, out: filepath.Join(dir, tc.file), refs: refs, width: tc.width, height: tc.height,
			dpi: tc.dpi, stderr: &errb}
		if err := runPlot(context.Background(), o); err != nil {
			t.Fatalf("plot -o %s: %v", tc.file, err)
		}
		if !strings.Contains(errb.String(), "wrote "+o.out) {
			t.Errorf("plot -o %s: stderr %q, want it to say what it wrote", tc.file, errb.String())
		}
		if strings.HasSuffix(tc.file, ".svg") {
			b, err := os.ReadFile(o.out)
			if err != nil {
				t.Fatal(err)
			}
			svg := string(b)
			for _, want := range []string{
				"<svg", pr.name + ": nsga2 on mnist, budget 300M MACs", "front at " + plotHighFid,
				"MACs at the target shape (log scale)", "proxy validation accuracy (%)",
				"budget 300M", fmt.Sprintf("Pareto front (%d)", wantFront),
				fmt.Sprintf("candidates (%d)", len(pr.high)), fmt.Sprintf("at other fidelities (%d)", len(pr.low)),
				"mobilenet_v2", "shufflenet_v2", "reference networks", ">100M<", ">50M<",
			} {
				if !strings.Contains(svg, want) {
					t.Errorf("plot -o %s: the SVG does not contain %q", tc.file, want)
				}
			}
			continue
		}
		img := decodePNG(t, o.out)
		w, h, dpi := vg.Length(tc.width), vg.Length(tc.height), tc.dpi
		if w == 0 {
			w, h, dpi = defaultPlotWidth, defaultPlotHeight, defaultPlotDPI
		}
		if got, want := img.Bounds().Size(), pngSize(w, h, dpi); got != want {
			t.Errorf("plot -o %s: image is %v pixels, want %v", tc.file, got, want)
		}
		// The front line is 1.5pt wide, at least 2 pixels at 100 dpi, and crosses a
		// good part of the plot, so it colours hundreds of pixels; the reference
		// triangles (7pt across) colour dozens. The floors are well below both.
		if n := countColour(img, colFront); n < 100 {
			t.Errorf("plot -o %s: %d pixels of the front's colour, want at least 100 (front not drawn?)", tc.file, n)
		}
		if n := countColour(img, colRef); n < 20 {
			t.Errorf("plot -o %s: %d pixels of the reference colour, want at least 20", tc.file, n)
		}
	}
}

func TestPlotHypervolume(t *testing.T) {
	pr := seedPlotDB(t)
	dir := t.TempDir()
	for _, file := range []string{"hv.png", "hv.svg"} {
		o := &plotOptions{db: pr.path, run: pr.name, out: filepath.Join(dir, file), hypervolume: true}
		if err := runPlot(context.Background(), o); err != nil {
			t.Fatalf("plot --hypervolume -o %s: %v", file, err)
		}
		if file == "hv.png" {
			if got, want := decodePNG(t, o.out).Bounds().Size(), pngSize(defaultPlotWidth, defaultPlotHeight, defaultPlotDPI); got != want {
				t.Errorf("plot --hypervolume -o %s: image is %v pixels, want %v", file, got, want)
			}
			continue
		}
		b, err := os.ReadFile(o.out)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"hypervolume of the front per generation", "generation", ">0<", ">3<"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("plot --hypervolume -o %s: the SVG does not contain %q", file, want)
			}
		}
	}

	db, err := store.OpenReadOnly(pr.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.Run(context.Background(), pr.name)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := loadHypervolume(context.Background(), db, run)
	if err != nil {
		t.Fatal(err)
	}
	var want []hvPoint
	for g, v := range pr.hv {
		want = append(want, hvPoint{g, v})
	}
	if !slices.Equal(hv, want) {
		t.Errorf("loadHypervolume = %v, want %v", hv, want)
	}
}

// TestPlotHypervolumeContract checks how checkpoints without a hypervolume are read:
// skipped when others have one, an error when none has.
func TestPlotHypervolumeContract(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nas.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	newRun := func(states ...string) *store.Run {
		r := &store.Run{Seed: 1, BudgetMACs: plotBudget, Strategy: "random", Dataset: "mnist", Version: "test"}
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		for g, s := range states {
			if err := db.SaveCheckpoint(ctx, r.ID, g, json.RawMessage(s), nil); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	mixed := newRun(`{"rng": 1}`, `{"hypervolume": 0.25, "front": []}`, `{"hypervolume": 0}`)
	hv, err := loadHypervolume(ctx, db, mixed)
	if want := []hvPoint{{1, 0.25}, {2, 0}}; err != nil || !slices.Equal(hv, want) {
		t.Errorf("loadHypervolume(one checkpoint without it) = %v, %v, want %v", hv, err, want)
	}
	for _, tc := range []struct {
		states []string
		want   string
	}{
		{nil, "no finished generations"},
		{[]string{`{"rng": 1}`, `{}`}, "none of its 2 checkpoints records a hypervolume"},
		{[]string{`{"hypervolume": "high"}`}, "checkpoint of generation 0"},
	} {
		r := newRun(tc.states...)
		if _, err := loadHypervolume(ctx, db, r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadHypervolume(checkpoints %q) = %v, want an error containing %q", tc.states, err, tc.want)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	pr := seedPlotDB(t)
	// A second database whose only run has no finished candidate.
	emptyPath := filepath.Join(t.TempDir(), "empty.db")
	db, err := store.Open(emptyPath)
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Run{Seed: 1, BudgetMACs: plotBudget, Strategy: "nsga2", Dataset: "mnist", Version: "test"}
	if err := db.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	db.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		o     plotOptions
		usage bool
		want  string
	}{
		{"no -o", plotOptions{db: pr.path}, true, "missing output file"},
		{"jpeg", plotOptions{db: pr.path, out: filepath.Join(dir, "f.jpg")}, true, `unknown image format ".jpg"`},
		{"no extension", plotOptions{db: pr.path, out: filepath.Join(dir, "front")}, true, "want a .png or .svg file"},
		{"dpi", plotOptions{db: pr.path, out: filepath.Join(dir, "f.png"), dpi: 5000}, true, "--dpi 5000"},
		{"unknown fidelity", plotOptions{db: pr.path, out: filepath.Join(dir, "f.png"), fidelity: "mnist/n9-e9-w9"}, true, plotLowFid + ", " + plotHighFid},
		{"empty run", plotOptions{db: emptyPath, out: filepath.Join(dir, "f.png")}, false, "has no finished candidates to plot"},
		{"no hypervolume", plotOptions{db: emptyPath, out: filepath.Join(dir, "f.png"), hypervolume: true}, false, "no finished generations"},
		{"unknown run", plotOptions{db: pr.path, run: "nope", out: filepath.Join(dir, "f.png")}, false, `run "nope"`},
		{"no database", plotOptions{db: filepath.Join(dir, "none.db"), out: filepath.Join(dir, "f.png")}, false, "no results database"},
	} {
		err := runPlot(context.Background(), &tc.o)
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &ue) != tc.usage {
			t.Errorf("%s: runPlot = %v (usage error %v), want an error containing %q (usage error %v)",
				tc.name, err, errors.As(err, &ue), tc.want, tc.usage)
		}
		if _, serr := os.Stat(tc.o.out); tc.o.out != "" && serr == nil {
			t.Errorf("%s: runPlot failed but wrote %s", tc.name, tc.o.out)
		}
	}
}

// TestPlotCommandFlags runs the cobra command, so that the flags are bound to the
// options runPlot reads.
func TestPlotCommandFlags(t *testing.T) {
	pr := seedPlotDB(t)
	out := filepath.Join(t.TempDir(), "front.png")
	var stdout, stderr bytes.Buffer
	cmd := newPlotCmd(&stdout, &stderr)
	cmd.SetArgs([]string{"--db", pr.path, "--run", pr.name, "-o", out, "--width", "10cm", "--height", "2.5in",
		"--dpi", "96", "--ref", "a=100M:0.9", "--ref", "b=200MFLOPs:95%", "--fidelity", plotLowFid})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("nas plot: %v", err)
	}
	if got, want := decodePNG(t, out).Bounds().Size(), pngSize(10*vg.Centimeter, 2.5*vg.Inch, 96); got != want {
		t.Errorf("nas plot --width 10cm --height 2.5in --dpi 96: image is %v pixels, want %v", got, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("nas plot wrote %q to stdout, want nothing (the plot goes to -o)", stdout.String())
	}
	if want := fmt.Sprintf("front of %d at %s", bruteFront(pr.low, plotBudget), plotLowFid); !strings.Contains(stderr.String(), want) {
		t.Errorf("nas plot --fidelity %s: stderr %q, want it to contain %q", plotLowFid, stderr.String(), want)
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want refPoint
		err  string
	}{
		{"mobilenet_v2=290M:0.912", refPoint{"mobilenet_v2", 290_000_000, 0.912}, ""},
		{" shufflenet v2 = 146MFLOPs:90.5%", refPoint{"shufflenet v2", 146_000_000, 0.905}, ""},
		{"tiny=1500:1", refPoint{"tiny", 1500, 1}, ""},
		{"x=0.3G:0", refPoint{"x", 300_000_000, 0}, ""},
		{"mobilenet_v2", refPoint{}, "want NAME=MACS:ACCURACY"},
		{"=290M:0.9", refPoint{}, "want NAME=MACS:ACCURACY"},
		{"a=290M", refPoint{}, "want NAME=MACS:ACCURACY"},
		{"a=lots:0.9", refPoint{}, "MACs"},
		{"a=290M:1.2", refPoint{}, "want a fraction in [0, 1]"},
		{"a=290M:120%", refPoint{}, "want a fraction in [0, 1]"},
		{"a=290M:-0.1", refPoint{}, "want a fraction in [0, 1]"},
		{"a=290M:NaN", refPoint{}, "want a fraction in [0, 1]"},
	} {
		got, err := parseRef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseRef(%q) = %v, %v, want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		// 1e-12: the percentage is divided by 100 once, a rounding far below it.
		if err != nil || got.Name != tc.want.Name || got.MACs != tc.want.MACs || math.Abs(got.Accuracy-tc.want.Accuracy) > 1e-12 {
			t.Errorf("parseRef(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestLengthFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want vg.Length
		ok   bool
	}{
		{"16cm", 16 * vg.Centimeter, true},
		{"6in", 6 * vg.Inch, true},
		{"450pt", 450, true},
		{"80mm", 80 * vg.Millimeter, true},
		{"16", 0, false}, // 16pt is below the 2cm floor
		{"1cm", 0, false},
		{"2m", 0, false},
		{"wide", 0, false},
		{"", 0, false},
	} {
		var l lengthFlag
		err := l.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && vg.Length(l) != tc.want) {
			t.Errorf("lengthFlag.Set(%q) = %v, %v, want %v (ok %v)", tc.in, vg.Length(l), err, tc.want, tc.ok)
		}
	}
}

func TestFidelities(t *testing.T) {
	cands := func(fids ...string) []store.Candidate {
		var cs []store.Candidate
		for _, f := range fids {
			cs = append(cs, store.Candidate{Fidelity: f})
		}
		return cs
	}
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{[]string{"mnist/n4000-e2-w0.5", "mnist/n1000-e1-w0.5", "mnist/n1000-e1-w0.5"}, []string{"mnist/n1000-e1-w0.5", "mnist/n4000-e2-w0.5"}},
		// More epochs beat more images when the work is larger: 2000*3 > 4000*1.
		{[]string{"n4000-e1-w1", "n2000-e3-w1"}, []string{"n4000-e1-w1", "n2000-e3-w1"}},
		// Keys in another form rank lowest, then by count.
		{[]string{"f", "g", "g", "n10-e1-w1"}, []string{"f", "g", "n10-e1-w1"}},
	} {
		if got := fidelities(cands(tc.in...)); !slices.Equal(got, tc.want) {
			t.Errorf("fidelities(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMACsTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var ls []string
		for _, tk := range (macsTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				ls = append(ls, tk.Label)
			}
		}
		return ls
	}
	for _, tc := range []struct {
		lo, hi float64
		want   []string
	}{
		{15e6, 600e6, []string{"20M", "50M", "100M", "200M", "500M"}},
		{1e3, 1e9, []string{"1k", "10k", "100k", "1M", "10M", "100M", "1G"}},
		// Too narrow for two of 1, 2, 5: every multiple is labelled.
		{250e6, 450e6, []string{"300M", "400M"}},
	} {
		if got := labels(tc.lo, tc.hi); !slices.Equal(got, tc.want) {
			t.Errorf("macsTicks.Ticks(%g, %g) labels = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
	// Every multiple of a power of ten in range is a tick, labelled or not: 2..9 x 10M
	// and 1..3 x 100M.
	if got := len((macsTicks{}).Ticks(15e6, 350e6)); got != 11 {
		t.Errorf("len(macsTicks.Ticks(15M, 350M)) = %d, want 11", got)
	}
}

func TestShortCount(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{300e6, "300M"}, {1.5e9, "1.5G"}, {20e3, "20k"}, {999, "999"}, {999.7e6, "1G"}, {146.25e6, "146M"}, {0, "0"},
	} {
		if got := shortCount(tc.in); got != tc.want {
			t.Errorf("shortCount(%g) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIntTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []string
	}{
		{-0.5, 3.5, []string{"0", "1", "2", "3"}},
		{0.5, 0.5, nil},
		{-0.5, 0.5, []string{"0"}},
		{0.5, 14.5, []string{"2", "4", "6", "8", "10", "12", "14"}},
		{-0.5, 49.5, []string{"0", "5", "10", "15", "20", "25", "30", "35", "40", "45"}},
		// 201 generations: a step of 20 would give 11 ticks, so 50.
		{99.5, 300.5, []string{"100", "150", "200", "250", "300"}},
	} {
		var got []string
		for _, tk := range (intTicks{}).Ticks(tc.lo, tc.hi) {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("intTicks.Ticks(%g, %g) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestRefLabelAlign(t *testing.T) {
	refs := []refPoint{
		{Name: "a", MACs: 300e6, Accuracy: 0.80},
		{Name: "b", MACs: 299e6, Accuracy: 0.79}, // close to a: a above, b below
		{Name: "c", MACs: 50e6, Accuracy: 0.60},  // far from both: beside its point
	}
	want := []text.YAlignment{text.YBottom, text.YTop, text.YCenter}
	for i, w := range want {
		if got := refLabelAlign(refs, i); got != w {
			t.Errorf("refLabelAlign(%s) = %v, want %v", refs[i].Name, got, w)
		}
	}
}
