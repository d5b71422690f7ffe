package main

import (
	"cmp"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"nas/ops"
)

type benchOptions struct {
	name    string
	batch   int
	steps   int
	input   string
	classes int
	profile string
	layers  bool
	json    bool
	tty     bool
	out     io.Writer
	// against names a PyTorch benchmark script to alternate with, rounds times, run
	// by python; progress takes a line per round.
	against  string
	python   string
	rounds   int
	progress io.Writer
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &benchOptions{out: stdout, progress: stderr}
	cmd := &cobra.Command{
		Use:   "bench NAME",
		Short: "Time a zoo network's training steps and inference on this machine",
		Long: `Time a zoo network on random inputs as ../shared/bench/reference_net.py bench does:
three warm-up steps, then --steps training steps (forward, cross-entropy,
backward, SGD with Nesterov momentum) and --steps inference passes in evaluation
mode at --batch images, and single-image inference latency. Both cores are used.
The tensors are placed on transparent huge pages where Linux offers them (as nas
train does, and the search does not); GODEBUG=disablethp=1 times without them.

With --layers, also prints where a training step's time goes: per layer (a
convolution with the batch-norm work fused into it, a batch norm with the
activation and shuffle fused into it, a residual sum, ...), the forward and
backward milliseconds per step and their share of the step; "(rest)" is the
loss, the optimizer, what the containers do between layers and the shortcut and
post layers of residual blocks (none in the reference network).

With --json, prints an object with the fields network, input, batch, steps,
threads, train_images_per_second, inference_images_per_second, latency_ms,
macs_per_image and train_gflops_per_second, and with --layers "layers": a list
of {path, kind, forward_ms, backward_ms} per step.

With --against SCRIPT, also compares nas with PyTorch side by side: --rounds
times, nas times --steps training steps of the network again and then runs
"--python SCRIPT bench --batch B --steps S", which must time the same network
and print "train N images/s" (../shared/bench/reference_net.py does, for
reference_net). A line per round goes to stderr; the rounds and the spread of
the ratios (nas images/s over PyTorch's) follow the report, and are "against"
in the JSON ({script, rounds: [{nas_train_images_per_second,
pytorch_train_images_per_second, ratio}], ratio_min, ratio_median, ratio_max}).
Alternating is the only fair comparison on a machine whose speed drifts.`,
		Example: `  nas bench reference_net --batch 128
  nas bench reference_net --layers
  nas bench reference_net --against ../shared/bench/reference_net.py --rounds 6
  nas bench mobilenet_v2 --input 32x32x3 --classes 10 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.name = args[0]
			o.tty = isTerminal(o.out)
			return runBench(o)
		},
	}
	cmd.Flags().IntVar(&o.batch, "batch", 128, "images per step")
	cmd.Flags().IntVar(&o.steps, "steps", 20, "timed steps")
	cmd.Flags().StringVar(&o.input, "input", "", "input shape HxWxC (default the network's reference shape)")
	cmd.Flags().IntVar(&o.classes, "classes", 0, "number of classes (default the network's reference count)")
	cmd.Flags().StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the timed training steps to this file")
	cmd.Flags().BoolVar(&o.layers, "layers", false, "also print the time of each layer in a training step")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	cmd.Flags().StringVar(&o.against, "against", "", "a PyTorch benchmark script to alternate with (reference_net.py bench's interface)")
	cmd.Flags().StringVar(&o.python, "python", "/usr/bin/python3", "the interpreter that runs the --against script")
	cmd.Flags().IntVar(&o.rounds, "rounds", 6, "alternated rounds with --against")
	return cmd
}

// benchReport is the JSON form of nas bench.
type benchReport struct {
	Network        string  `json:"network"`
	Input          string  `json:"input"`
	Batch          int     `json:"batch"`
	Steps          int     `json:"steps"`
	Threads        int     `json:"threads"`
	TrainPerSec    float64 `json:"train_images_per_second"`
	InferPerSec    float64 `json:"inference_images_per_second"`
	LatencyMillis  float64 `json:"latency_ms"`
	MACsPerImage   int64   `json:"macs_per_image"`
	TrainGFLOPsSec float64 `json:"train_gflops_per_second"`
	// Layers, with --layers, gives each layer's time per training step.
	Layers []benchLayer `json:"layers,omitempty"`
	// Against, with --against, is the side-by-side comparison with PyTorch.
	Against *benchAgainst `json:"against,omitempty"`
}

// benchLayer is one layer's time per training step in nas bench --layers.
type benchLayer struct {
	Path       string  `json:"path"`
	Kind       string  `json:"kind"`
	ForwardMS  float64 `json:"forward_ms"`
	BackwardMS float64 `json:"backward_ms"`
}

func runBench(o *benchOptions) error {
	if o.batch <= 0 || o.steps <= 0 {
		return usagef("--batch %d and --steps %d must be positive", o.batch, o.steps)
	}
	if o.against != "" {
		if o.rounds <= 0 {
			return usagef("--rounds %d must be positive", o.rounds)
		}
		if _, err := os.Stat(o.against); err != nil {
			return usagef("--against: %v", err)
		}
		if filepath.Base(o.against) == "reference_net.py" && (o.name != "reference_net" || o.input != "" || o.classes != 0) {
			return usagef("--against %s times reference_net at 28x28x1 with 10 classes: bench reference_net without --input and --classes", o.against)
		}
		if _, err := exec.LookPath(o.python); err != nil {
			return usagef("--python: %v (the --against script needs PyTorch; Debian: apt-get install python3-torch)", err)
		}
	}
	var in ops.Shape
	if o.input != "" {
		s, err := ops.ParseShape(o.input)
		if err != nil {
			return usagef("--input: %v", err)
		}
		in = s
	}
	net, _, err := buildZoo(o.name, in, o.classes)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(0, 0))
	net.Init(rng)
	in = net.Input()
	classes := net.OutShape().Size()
	x := ops.New(o.batch, in)
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, o.batch)
	for i := range labels {
		labels[i] = rng.IntN(classes)
	}
	loss := &ops.SoftmaxCrossEntropy{}
	opt := &ops.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
	step := func() error {
		_, err := net.Step(x, labels, loss, opt)
		return err
	}
	net.SetTraining(true)
	for range 3 {
		if err := step(); err != nil {
			return err
		}
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	// timeTrain runs --steps training steps and returns their time and images/s.
	timeTrain := func() (time.Duration, float64, error) {
		start := time.Now()
		for range o.steps {
			if err := step(); err != nil {
				return 0, 0, err
			}
		}
		d := time.Since(start)
		return d, float64(o.steps*o.batch) / d.Seconds(), nil
	}
	net.TimeLayers(o.layers)
	elapsed, train, err := timeTrain()
	if err != nil {
		return err
	}
	stepTime := elapsed / time.Duration(o.steps)
	if o.profile != "" {
		pprof.StopCPUProfile()
	}
	layers := net.LayerTimes()
	net.TimeLayers(false)
	var against *benchAgainst
	if o.against != "" {
		nasRate := func() (float64, error) {
			_, r, err := timeTrain()
			return r, err
		}
		pyRate := func() (float64, error) { return scriptRate(o.python, o.against, o.batch, o.steps) }
		if against, err = compareRounds(nasRate, pyRate, o.against, o.rounds, o.progress); err != nil {
			return err
		}
	}
	net.SetTraining(false)
	if _, err := net.Forward(x); err != nil {
		return err
	}
	start := time.Now()
	for range o.steps {
		if _, err := net.Forward(x); err != nil {
			return err
		}
	}
	infer := float64(o.steps*o.batch) / time.Since(start).Seconds()
	one := ops.FromSlice(1, in, x.Float32s()[:in.Size()])
	if _, err := net.Forward(one); err != nil {
		return err
	}
	start = time.Now()
	for range o.steps {
		if _, err := net.Forward(one); err != nil {
			return err
		}
	}
	latency := time.Since(start).Seconds() * 1000 / float64(o.steps)
	macs := net.Cost().MACs
	rep := benchReport{Network: o.name, Input: in.String(), Batch: o.batch, Steps: o.steps, Threads: threads(),
		TrainPerSec: train, InferPerSec: infer, LatencyMillis: latency, MACsPerImage: macs,
		// A training step is a forward and a backward pass of about twice its cost:
		// 3 MACs, 6 floating-point operations, per MAC and image.
		TrainGFLOPsSec: train * float64(macs) * 6 / 1e9, Against: against}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(o.steps) }
	slices.SortStableFunc(layers, func(a, b ops.LayerTime) int { return comparePaths(a.Path, b.Path) })
	for _, l := range layers {
		rep.Layers = append(rep.Layers, benchLayer{Path: l.Path, Kind: l.Kind, ForwardMS: ms(l.Forward), BackwardMS: ms(l.Backward)})
	}
	if o.json {
		return writeJSON(o.out, rep)
	}
	_, err = fmt.Fprintf(o.out, "%s %s batch %d, %d threads: train %.0f images/s (%.1f GFLOP/s), inference %.0f images/s, latency %.2f ms\n",
		o.name, rep.Input, o.batch, rep.Threads, train, rep.TrainGFLOPsSec, infer, latency)
	if err != nil {
		return err
	}
	if o.layers {
		if err := layerTable(rep.Layers, stepTime.Seconds()*1000).write(o.out, o.tty); err != nil {
			return err
		}
	}
	if against != nil {
		return against.write(o.out, o.tty)
	}
	return nil
}

// comparePaths orders layer paths ("2.0.10") by their numeric parts, a parent
// before its children.
func comparePaths(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// layerTable lays out the per-layer times of one training step of stepMS
// milliseconds, with a last row for the time no layer accounts for.
func layerTable(layers []benchLayer, stepMS float64) *table {
	t := &table{header: []string{"LAYER", "KIND", "FORWARD_MS", "BACKWARD_MS", "TOTAL_MS", "SHARE"}}
	rest := stepMS
	row := func(path, kind string, f, b float64) {
		t.add(path, kind, fmt.Sprintf("%.3f", f), fmt.Sprintf("%.3f", b), fmt.Sprintf("%.3f", f+b),
			fmt.Sprintf("%.1f%%", 100*(f+b)/stepMS))
	}
	for _, l := range layers {
		row(l.Path, l.Kind, l.ForwardMS, l.BackwardMS)
		rest -= l.ForwardMS + l.BackwardMS
	}
	t.add("", "(rest)", "", "", fmt.Sprintf("%.3f", rest), fmt.Sprintf("%.1f%%", 100*rest/stepMS))
	return t
}
