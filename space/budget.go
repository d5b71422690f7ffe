package space

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Budget is a hard limit on a network's MACs at the target shape, under the cost
// convention of package ops (what the MobileNet and ShuffleNet papers call FLOPs).
type Budget int64

// budgetHelp says what ParseBudget accepts; errors repeat it.
const budgetHelp = "a positive number of MACs, optionally with K, M, G or T and then FLOPs or MACs " +
	"(case-insensitive), e.g. 300MFLOPs, 300M, 0.3GFLOPs, 300MMACs or 300000000"

// ParseBudget parses a budget such as "300MFLOPs", "300M", "0.3GFLOPs", "300MMACs" or
// "300000000". Letters are case-insensitive; the value must be a positive whole
// number of MACs after scaling.
func ParseBudget(s string) (Budget, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, unit := range []string{"flops", "flop", "macs", "mac"} {
		if strings.HasSuffix(t, unit) {
			t = strings.TrimSuffix(t, unit)
			break
		}
	}
	scale := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			scale = 1e3
		case 'm':
			scale = 1e6
		case 'g':
			scale = 1e9
		case 't':
			scale = 1e12
		}
		if scale != 1 {
			t = t[:n-1]
		}
	}
	if t == "" || strings.ContainsAny(t, "+-_eEinfINFxXpP") {
		return 0, fmt.Errorf("budget %q: want %s", s, budgetHelp)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("budget %q: want %s", s, budgetHelp)
	}
	macs := v * scale
	if !(macs >= 1) || macs > math.MaxInt64/2 {
		return 0, fmt.Errorf("budget %q: must be at least 1 MAC and at most 4.6e18; want %s", s, budgetHelp)
	}
	if r := math.Round(macs); math.Abs(r-macs) > 1e-6*macs {
		return 0, fmt.Errorf("budget %q: %g is not a whole number of MACs", s, macs)
	}
	return Budget(math.Round(macs)), nil
}

// String formats the budget in the largest unit that keeps it readable, e.g. "300MFLOPs".
func (b Budget) String() string {
	v := float64(b)
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', -1, 64) + "GFLOPs"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "MFLOPs"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "KFLOPs"
	}
	return strconv.FormatInt(int64(b), 10) + "FLOPs"
}

// Set implements pflag.Value, so a Budget can be a command-line flag.
func (b *Budget) Set(s string) error {
	v, err := ParseBudget(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Type implements pflag.Value.
func (b *Budget) Type() string { return "budget" }
