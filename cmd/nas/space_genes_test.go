package main

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"nas/space"
	"nas/store"
)

func TestParseGenes(t *testing.T) {
	tests := []struct {
		families, groupings []string
		wantFamilies        []space.Family
		wantGroupings       []space.Grouping
		wantErr             string
	}{
		{nil, nil, nil, nil, ""},
		{[]string{"all"}, []string{"fixed", "learned", "dynamic"}, space.AllFamilies,
			[]space.Grouping{space.FixedGroups, space.LearnedGroups, space.DynamicGroups}, ""},
		{[]string{"inverted_residual", "scalenet"}, []string{"Dynamic"},
			[]space.Family{space.InvertedResidual, space.ScaleAgg}, []space.Grouping{space.DynamicGroups}, ""},
		{[]string{"all", "fire"}, nil, nil, nil, "--families"},
		{[]string{"resnet"}, nil, nil, nil, "--families"},
		{nil, []string{"random"}, nil, nil, "--groupings"},
	}
	for _, tt := range tests {
		o := &runOptions{families: tt.families, groupings: tt.groupings}
		err := parseGenes(o)
		if tt.wantErr != "" {
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseGenes(%q, %q) = %v, want a usage error naming %s", tt.families, tt.groupings, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(o.cfg.Families, tt.wantFamilies) || !slices.Equal(o.cfg.Groupings, tt.wantGroupings) {
			t.Errorf("parseGenes(%q, %q) = %v, %v, %v; want %v, %v", tt.families, tt.groupings,
				o.cfg.Families, o.cfg.Groupings, err, tt.wantFamilies, tt.wantGroupings)
		}
	}
}

// TestRunConfigGenes checks that a run's configuration replays its space: the new
// genes survive the stored JSON, a configuration without them (a run recorded before
// they existed) rebuilds the default space, and a default configuration is stored
// without them, as before.
func TestRunConfigGenes(t *testing.T) {
	base := runConfig{Budget: 300_000_000, Target: "224x224x3", Classes: 1000}
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"families", "groupings", "bits"} {
		if strings.Contains(string(b), key) {
			t.Errorf("default run config %s stores %q", b, key)
		}
	}
	old, err := loadRunConfig(runRecord(b))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := old.space()
	if err != nil {
		t.Fatal(err)
	}
	want := space.Config{Families: space.DefaultFamilies, Groupings: []space.Grouping{space.FixedGroups}, Bits: []int{32}}
	if got := sp.Config(); !slices.Equal(got.Families, want.Families) || !slices.Equal(got.Groupings, want.Groupings) ||
		!slices.Equal(got.Bits, want.Bits) {
		t.Errorf("old run config rebuilds families %v, groupings %v, bits %v; want the defaults %v, %v, %v",
			got.Families, got.Groupings, got.Bits, want.Families, want.Groupings, want.Bits)
	}

	ext := base
	ext.Families = space.AllFamilies
	ext.Groupings = []space.Grouping{space.FixedGroups, space.LearnedGroups, space.DynamicGroups}
	ext.Bits = []int{32, 8, 4}
	b, err = json.Marshal(ext)
	if err != nil {
		t.Fatal(err)
	}
	back, err := loadRunConfig(runRecord(b))
	if err != nil {
		t.Fatal(err)
	}
	sp, err = back.space()
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Config(); !slices.Equal(got.Families, ext.Families) || !slices.Equal(got.Groupings, ext.Groupings) ||
		!slices.Equal(got.Bits, ext.Bits) {
		t.Errorf("stored config %s rebuilds families %v, groupings %v, bits %v", b, got.Families, got.Groupings, got.Bits)
	}
}

// TestRunGeneFlags checks that the flags exist with help text and that a bad list
// is a usage error before any data is read.
func TestRunGeneFlags(t *testing.T) {
	cmd := newRunCmd(io.Discard, io.Discard)
	for _, name := range []string{"families", "groupings", "bits"} {
		f := cmd.Flags().Lookup(name)
		if f == nil || len(f.Usage) < 20 {
			t.Errorf("run has no --%s flag with help text", name)
		}
	}
	if !strings.Contains(cmd.Long, "--groupings") {
		t.Errorf("run's help does not explain --groupings")
	}
	for _, args := range [][]string{{"--bits", "16"}, {"--families", "fire"}, {"--groupings", "sometimes"}} {
		cmd := newRunCmd(io.Discard, io.Discard)
		cmd.SetArgs(append(args, "--db", t.TempDir()+"/h.db", "--dataset", "synthetic"))
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("run %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

// runRecord is a stored run with the given config JSON.
func runRecord(config []byte) *store.Run { return &store.Run{Name: "r", Config: config} }
