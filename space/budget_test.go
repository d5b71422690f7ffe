package space

import (
	"strings"
	"testing"
)

func TestParseBudget(t *testing.T) {
	good := []struct {
		in   string
		want Budget
	}{
		// The forms the search issue lists, all 300 million MACs.
		{"300MFLOPs", 300_000_000},
		{"300M", 300_000_000},
		{"0.3GFLOPs", 300_000_000},
		{"300MMACs", 300_000_000},
		{"300000000", 300_000_000},
		{"300mflops", 300_000_000},
		{"300MFLOPS", 300_000_000},
		{" 300 mflops ", 0}, // inner space: refused below
		{"1.5G", 1_500_000_000},
		{"600k", 600_000},
		{"2TFLOPs", 2_000_000_000_000},
		{"1", 1},
	}
	for _, tt := range good {
		got, err := ParseBudget(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseBudget(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBudget(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	bad := []string{"", "0", "-300M", "abc", "300MB", "300 M", "M", "MFLOPs", "0.5", "1e9", "NaN", "inf", "0x10", "300MM", "+300M", "1_000"}
	for _, in := range bad {
		got, err := ParseBudget(in)
		if err == nil {
			t.Errorf("ParseBudget(%q) = %d, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "300MFLOPs") && !strings.Contains(err.Error(), "whole number") {
			t.Errorf("ParseBudget(%q) error %q does not say what is accepted", in, err)
		}
	}
}

func TestBudgetStringRoundTrip(t *testing.T) {
	for _, b := range []Budget{1, 999, 600_000, 300_000_000, 4_230_479_872, 2_000_000_000_000} {
		got, err := ParseBudget(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBudget(%q) = %d, %v; want %d", b.String(), got, err, b)
		}
	}
}

// FuzzParseBudget checks that the parser never panics, accepts only positive
// budgets, and that every accepted budget survives a String round trip.
func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"300MFLOPs", "300M", "0.3GFLOPs", "300MMACs", "300000000", "", "-1", "abc", "300MB", "1e9", "9999999999999T"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBudget(s)
		if err != nil {
			return
		}
		if b <= 0 {
			t.Fatalf("ParseBudget(%q) = %d, a non-positive budget", s, b)
		}
		again, err := ParseBudget(b.String())
		if err != nil || again != b {
			t.Fatalf("ParseBudget(%q) = %d, but its String %q parses to %d, %v", s, b, b.String(), again, err)
		}
	})
}
