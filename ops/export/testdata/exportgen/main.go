// Command exportgen writes the PyTorch and ONNX exports that check_export.py
// validates beyond what 'nas export --zoo' covers: a candidate of every block family
// of the search space, every zoo network at a small input and the small networks of
// the learned and dynamic grouping operators (package cases, with CondenseNet-74's
// training form), each with its batch norms' parameters and running statistics
// drawn at random and its scheduled layers at the end of training (cases.Trained),
// so that the check exercises evaluation-mode batch norm, condensed masks and
// dropped channels, not just the state at initialization. Run from the module root:
//
//	go run ./ops/export/testdata/exportgen -o /tmp/nas-export
//
// Each case goes into DIR/NAME: model.py, weights.safetensors, check.safetensors,
// model.onnx and arch.json (params, model_params, macs, input).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"nas/ops"
	"nas/ops/export"
	"nas/ops/export/internal/cases"
	"nas/ops/zoo"
	"nas/space"
)

func main() {
	out := flag.String("o", "", "directory to write into")
	only := flag.String("only", "", "write only this case")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "exportgen: -o DIR is required")
		os.Exit(2)
	}
	if err := run(*out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "exportgen:", err)
		os.Exit(1)
	}
}

type exportCase struct {
	name string
	net  *ops.Network
}

func run(dir, only string) error {
	var all []exportCase
	sp, err := space.New(space.Config{Budget: 1 << 40, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256})
	if err != nil {
		return err
	}
	for _, f := range space.AllFamilies {
		for _, v := range []struct {
			il    space.Interleave
			alpha float64
			tag   string
		}{{space.NoInterleave, 0, "plain"}, {space.Shuffle, 0.25, "octave_shuffle"}, {space.IGCPermutation, 0.5, "octave_igc"}} {
			g := space.Genome{WidthMult: 0.5}
			for i := range space.MobileNetV2Skeleton {
				g.Stages = append(g.Stages, space.Stage{Family: f, Depth: 1 + i%2, Width: 1, Expand: 2, Groups: 2,
					Kernels: []int{3, 5}, Alpha: v.alpha, Interleave: v.il})
			}
			net, err := sp.Build(g, space.BuildOptions{})
			if err != nil {
				return fmt.Errorf("%s genome: %w", f, err)
			}
			all = append(all, exportCase{fmt.Sprintf("space_%s_%s", f, v.tag), net})
		}
	}
	for _, s := range zoo.List() {
		// The smallest of these sides that the network's strides allow, with the
		// reference's channels.
		var net *ops.Network
		for _, side := range []int{64, 96, 128, 224, 299} {
			if net, err = zoo.Build(s.Name, ops.Shape{C: s.Input.C, H: side, W: side}, 10); err == nil {
				break
			}
			if !errors.Is(err, zoo.ErrInputTooSmall) {
				return err
			}
		}
		if err != nil {
			return err
		}
		all = append(all, exportCase{"zoo_" + s.Name, net})
	}
	grouping, err := cases.Grouping(rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		return err
	}
	for _, c := range grouping {
		all = append(all, exportCase{c.Name, c.Net})
	}
	for i, c := range all {
		if only != "" && c.name != only {
			continue
		}
		if err := write(filepath.Join(dir, c.name), c.net, uint64(i)); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Println(filepath.Join(dir, c.name))
	}
	return nil
}

// perturb draws every batch norm's gamma, beta and running statistics at random.
func perturb(net *ops.Network, rng *rand.Rand) {
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		bn, ok := l.(*ops.BatchNorm2D)
		if !ok {
			return
		}
		g, b := bn.Weight().Value.Float32s(), bn.Bias().Value.Float32s()
		m, v := bn.RunningMean(), bn.RunningVar()
		for i := range g {
			g[i] = float32(0.5 + rng.Float64())
			b[i] = float32(0.1 * rng.NormFloat64())
			m[i] = float32(0.1 * rng.NormFloat64())
			v[i] = float32(0.5 + 1.5*rng.Float64())
		}
	})
}

func write(dir string, net *ops.Network, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 99))
	net.Init(rng)
	perturb(net, rng)
	cases.Trained(net, rng)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	checks, err := export.CheckTensors(net, export.CheckSeed)
	if err != nil {
		return err
	}
	c := net.Cost()
	files := map[string]func(io.Writer) error{
		"model.py":            func(w io.Writer) error { return export.PyTorch(net, w) },
		"model.onnx":          func(w io.Writer) error { return export.ONNX(net, w) },
		"weights.safetensors": func(w io.Writer) error { return export.Safetensors(w, export.StateDict(net)) },
		"check.safetensors":   func(w io.Writer) error { return export.Safetensors(w, checks) },
		"arch.json": func(w io.Writer) error {
			return json.NewEncoder(w).Encode(map[string]any{"params": c.Params, "model_params": net.ParamCount(), "macs": c.MACs, "input": net.Input().String()})
		},
	}
	for name, f := range files {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
