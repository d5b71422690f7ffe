package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestZooJSON(t *testing.T) {
	code, out, errs := runCLI("zoo", "--json")
	if code != 0 {
		t.Fatalf("zoo --json: exit %d: %s", code, errs)
	}
	var entries []zooEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	byName := map[string]zooEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	// reference_net's counts are printed by ../shared/bench/reference_net.py count.
	ref := byName["reference_net"]
	if ref.Input != "28x28x1" || ref.Classes != 10 || ref.MACs != 4_340_896 || ref.Params != 98_266 {
		t.Errorf("reference_net entry %+v, want 28x28x1, 10 classes, 4,340,896 MACs, 98,266 params", ref)
	}
	if len(entries) < 19 {
		t.Errorf("zoo lists %d networks, want the issue's 19", len(entries))
	}
}

func TestZooNamedAndLayers(t *testing.T) {
	code, out, errs := runCLI("zoo", "reference_net", "--layers", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var e zooEntry
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	var macs, params int64
	for _, l := range e.Layers {
		macs += l.MACs
		params += l.Params
	}
	if len(e.Layers) == 0 || macs != e.MACs || params != e.Params {
		t.Errorf("%d layers summing to %d MACs and %d params, want the totals %d and %d", len(e.Layers), macs, params, e.MACs, e.Params)
	}
	code, out, _ = runCLI("zoo", "reference_net", "--layers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || !strings.HasPrefix(lines[len(lines)-1], "total\treference_net\t1x1x10\t4,340,896\t98,266") {
		t.Errorf("piped --layers should end in the totals line, got %q", lines[len(lines)-1])
	}
	code, out, _ = runCLI("zoo", "mobilenet_v2", "--input", "32x32x3", "--classes", "10")
	if code != 0 || !strings.Contains(out, "mobilenet_v2\t32x32x3\t10\t") {
		t.Errorf("zoo mobilenet_v2 at 32x32x3: exit %d, %q", code, out)
	}
}

func TestZooErrors(t *testing.T) {
	for _, args := range [][]string{
		{"zoo", "nope"},
		{"zoo", "squeezenet1_0", "--input", "6x6x3"}, // its first conv is 7x7 without padding
		{"zoo", "mobilenet_v2", "--input", "32x32"},
		{"zoo", "mobilenet_v2", "--classes", "-3"},
		{"zoo", "--layers"},
		{"zoo", "a", "b"},
	} {
		code, _, errs := runCLI(args...)
		if code != exitUsage {
			t.Errorf("nas %s: exit %d, want 2 (stderr %q)", strings.Join(args, " "), code, errs)
		}
		if !strings.HasPrefix(errs, "nas: ") || strings.Count(errs, "\n") > 2 {
			t.Errorf("nas %s: stderr %q, want one error line and a usage hint", strings.Join(args, " "), errs)
		}
	}
}
