package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchAgainst is the JSON form of nas bench --against: the rounds of a side-by-side
// comparison with a PyTorch benchmark script, and the spread of their ratios.
type benchAgainst struct {
	Script      string       `json:"script"`
	Rounds      []benchRound `json:"rounds"`
	RatioMin    float64      `json:"ratio_min"`
	RatioMedian float64      `json:"ratio_median"`
	RatioMax    float64      `json:"ratio_max"`
}

// benchRound is one round: nas's training images/s, then the script's.
type benchRound struct {
	NAS     float64 `json:"nas_train_images_per_second"`
	PyTorch float64 `json:"pytorch_train_images_per_second"`
	Ratio   float64 `json:"ratio"`
}

// compareRounds alternates nas's training timing (nasRate) with runs of the script,
// rounds times, reporting each round to progress as it ends, and returns the rounds
// with the spread of their ratios. Alternating in one session is the only fair
// comparison on a shared machine, whose speed drifts from minute to minute.
func compareRounds(nasRate func() (float64, error), pyRate func() (float64, error), script string, rounds int, progress io.Writer) (*benchAgainst, error) {
	a := &benchAgainst{Script: script}
	var ratios []float64
	for i := range rounds {
		n, err := nasRate()
		if err != nil {
			return nil, err
		}
		p, err := pyRate()
		if err != nil {
			return nil, err
		}
		r := benchRound{NAS: n, PyTorch: p, Ratio: n / p}
		a.Rounds = append(a.Rounds, r)
		ratios = append(ratios, r.Ratio)
		if progress != nil {
			fmt.Fprintf(progress, "round %d/%d: nas %.0f images/s, PyTorch %.0f images/s, ratio %.2f\n", i+1, rounds, n, p, r.Ratio)
		}
	}
	slices.Sort(ratios)
	a.RatioMin, a.RatioMax = ratios[0], ratios[len(ratios)-1]
	if k := len(ratios); k%2 == 1 {
		a.RatioMedian = ratios[k/2]
	} else {
		a.RatioMedian = (ratios[k/2-1] + ratios[k/2]) / 2
	}
	return a, nil
}

// trainRateRE finds the training images/s in what reference_net.py bench prints:
// "torch 1.13.1 threads 2 batch 128: train 431 images/s, inference 1290 images/s".
var trainRateRE = regexp.MustCompile(`\btrain ([0-9]+(?:\.[0-9]+)?) images/s`)

// scriptRate runs "python script bench --batch B --steps S" and returns the training
// images/s it prints.
func scriptRate(python, script string, batch, steps int) (float64, error) {
	cmd := exec.Command(python, script, "bench", "--batch", strconv.Itoa(batch), "--steps", strconv.Itoa(steps))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%s %s bench: %v%s", python, script, err, lastLines(stderr.String(), 5))
	}
	m := trainRateRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s bench printed no \"train N images/s\":%s", script, lastLines(string(out), 5))
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%s bench: training images/s %q is not a positive number", script, m[1])
	}
	return v, nil
}

// lastLines returns the last n lines of s, each indented on a line of its own, or
// nothing for blank s.
func lastLines(s string, n int) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "\n  " + strings.Join(lines, "\n  ")
}

// write prints the rounds as a table and a line with the spread of the ratios.
func (a *benchAgainst) write(w io.Writer, tty bool) error {
	t := &table{header: []string{"ROUND", "NAS_IMAGES_S", "PYTORCH_IMAGES_S", "RATIO"}}
	for i, r := range a.Rounds {
		t.add(i+1, fmt.Sprintf("%.0f", r.NAS), fmt.Sprintf("%.0f", r.PyTorch), fmt.Sprintf("%.2f", r.Ratio))
	}
	if err := t.write(w, tty); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "nas / PyTorch (%s) over %d alternated rounds: %.2f-%.2fx, median %.2fx\n",
		a.Script, len(a.Rounds), a.RatioMin, a.RatioMax, a.RatioMedian)
	return err
}
