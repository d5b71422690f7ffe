package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchLayers runs nas bench --layers on the reference network at a small batch:
// the JSON carries one row per timed layer, in path order, with positive times that
// fit in the step, and the table ends with the rest of the step.
func TestBenchLayers(t *testing.T) {
	code, out, errs := runCLI("bench", "reference_net", "--batch", "4", "--steps", "2", "--layers", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if len(rep.Layers) == 0 {
		t.Fatal("no layers in bench --layers --json")
	}
	stepMS := 4 / rep.TrainPerSec * 1000 // the batch over images per second
	var sum float64
	for i, l := range rep.Layers {
		if i > 0 && comparePaths(rep.Layers[i-1].Path, l.Path) > 0 {
			t.Errorf("layer %s after %s: not in path order", l.Path, rep.Layers[i-1].Path)
		}
		if l.BackwardMS <= 0 || l.ForwardMS < 0 {
			t.Errorf("layer %s %s: forward %v ms, backward %v ms", l.Path, l.Kind, l.ForwardMS, l.BackwardMS)
		}
		sum += l.ForwardMS + l.BackwardMS
	}
	if first := rep.Layers[0]; first.Path != "0.0" || !strings.HasPrefix(first.Kind, "Conv2D 3x3") {
		t.Errorf("first layer %s %s, want the stem's 3x3 convolution at 0.0", first.Path, first.Kind)
	}
	if sum > stepMS {
		t.Errorf("layers sum to %.3f ms, more than the %.3f ms step", sum, stepMS)
	}
	code, out, errs = runCLI("bench", "reference_net", "--batch", "4", "--steps", "2", "--layers")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := lines[1]; !strings.HasPrefix(got, "LAYER\tKIND\tFORWARD_MS") {
		t.Errorf("second line %q, want the layer table's header", got)
	}
	if got := lines[len(lines)-1]; !strings.Contains(got, "(rest)") {
		t.Errorf("last line %q, want the rest of the step", got)
	}
}

func TestComparePaths(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2.0.10", "2.0.9", 1}, {"2", "2.0", -1}, {"1.5", "2.0", -1}, {"3.1", "3.1", 0},
	}
	for _, tt := range tests {
		if got := comparePaths(tt.a, tt.b); got != tt.want {
			t.Errorf("comparePaths(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// fakeBench writes a shell script that stands in for reference_net.py bench: it
// appends its arguments to a log and prints body's output. It returns the script's
// and the log's paths.
func fakeBench(t *testing.T, body string) (script, log string) {
	t.Helper()
	dir := t.TempDir()
	script, log = filepath.Join(dir, "bench.sh"), filepath.Join(dir, "args.log")
	text := "echo \"$@\" >> " + log + "\n" + body + "\n"
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return script, log
}

// TestBenchAgainst runs nas bench --against with a stand-in for the PyTorch script
// (run by /bin/sh through --python): each round runs the script once with the
// batch and steps of nas bench, each ratio is nas's images/s over the script's,
// and the spread is that of the ratios; the text form ends with the spread.
func TestBenchAgainst(t *testing.T) {
	script, log := fakeBench(t, `echo "torch 0.0 threads 2 batch $3: train 250 images/s, inference 900 images/s"`)
	args := []string{"bench", "reference_net", "--batch", "4", "--steps", "2", "--against", script, "--python", "/bin/sh", "--rounds", "3"}
	code, out, errs := runCLI(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	a := rep.Against
	if a == nil || len(a.Rounds) != 3 || a.Script != script {
		t.Fatalf("against = %+v, want 3 rounds of %s", a, script)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range a.Rounds {
		if r.PyTorch != 250 || r.NAS <= 0 || math.Abs(r.Ratio-r.NAS/250) > 1e-9 {
			t.Errorf("round %d = %+v, want PyTorch 250 and ratio nas/250", i+1, r)
		}
		lo, hi = min(lo, r.Ratio), max(hi, r.Ratio)
	}
	if a.RatioMin != lo || a.RatioMax != hi || a.RatioMedian < lo || a.RatioMedian > hi {
		t.Errorf("spread %v-%v median %v, want %v-%v and a median inside", a.RatioMin, a.RatioMax, a.RatioMedian, lo, hi)
	}
	if got := strings.Count(errs, "round "); got != 3 {
		t.Errorf("stderr has %d round lines, want 3:\n%s", got, errs)
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("bench --batch 4 --steps 2\n", 3); string(calls) != want {
		t.Errorf("the script ran with %q, want %q", calls, want)
	}
	code, out, errs = runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "over 3 alternated rounds") {
		t.Errorf("last line %q, want the spread of 3 rounds", last)
	}
}

// TestBenchAgainstErrors checks that a failing or unreadable script, a missing
// interpreter, reference_net.py against another input shape and a bad --rounds end
// nas bench with an error that says which.
func TestBenchAgainstErrors(t *testing.T) {
	failing, _ := fakeBench(t, "echo 'ModuleNotFoundError: torch' >&2; exit 1")
	silent, _ := fakeBench(t, "echo 'nothing to see'")
	base := []string{"bench", "reference_net", "--batch", "2", "--steps", "1", "--rounds", "1"}
	reference := filepath.Join(t.TempDir(), "reference_net.py")
	if err := os.WriteFile(reference, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--against", failing, "--python", "/bin/sh"}, "ModuleNotFoundError: torch"},
		{[]string{"--against", reference, "--python", "/bin/sh", "--input", "32x32x1"}, "without --input and --classes"},
		{[]string{"--against", silent, "--python", "/bin/sh"}, `printed no "train N images/s"`},
		{[]string{"--against", silent, "--python", "/no/such/python"}, "--python"},
		{[]string{"--against", filepath.Join(t.TempDir(), "missing.py")}, "--against"},
		{[]string{"--against", silent, "--python", "/bin/sh", "--rounds", "0"}, "--rounds 0"},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(append(base, tt.args...)...)
		if code == 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("bench %v: exit %d, stderr %q, want an error with %q", tt.args, code, errs, tt.want)
		}
	}
}

// TestCompareRoundsMedian checks the spread of an even number of rounds: the median
// is the mean of the middle two ratios.
func TestCompareRoundsMedian(t *testing.T) {
	nas := []float64{400, 100, 300, 200}
	i := 0
	next := func() (float64, error) { i++; return nas[i-1], nil }
	a, err := compareRounds(next, func() (float64, error) { return 100, nil }, "s", len(nas), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.RatioMin != 1 || a.RatioMax != 4 || a.RatioMedian != 2.5 {
		t.Errorf("spread %v-%v median %v, want 1-4 median 2.5", a.RatioMin, a.RatioMax, a.RatioMedian)
	}
}
