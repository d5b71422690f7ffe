package main

import (
	"encoding/json"
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
