package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"nas/ops"
	"nas/ops/export"
)

// exportSeed seeds the initial weights of an export without trained weights, so that
// weights.safetensors and check.safetensors are the same on every run.
const exportSeed = 1

// loadCandidate returns candidate id of the results database db built at input shape
// in with classes outputs (the zero shape and 0 mean the run's target), with its
// proxy-trained weights when withWeights, and the fields arch.json should hold for it
// (genome, hash, run provenance). Tests replace it with a stand-in.
var loadCandidate = loadStoredCandidate

type exportOptions struct {
	id      string
	zoo     string
	format  string
	out     string
	input   string
	classes int
	weights bool
	db      string
	stdout  io.Writer
	stderr  io.Writer
}

func newExportCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &exportOptions{stdout: stdout, stderr: stderr}
	cmd := &cobra.Command{
		Use:   "export [ID] -o DIR",
		Short: "Write a candidate or a zoo network out as PyTorch, ONNX or JSON",
		Long: `Export candidate ID of the results database, or the zoo network --zoo NAME, into DIR.

--format pytorch (the default) writes model.py, a self-contained PyTorch module file
(torch and the standard library only; PyTorch 1.13 or newer) whose state_dict names are
nas's parameter paths, weights.safetensors, check.safetensors (a fixed input batch and
the logits nas computes for it in eval mode) and arch.json. Run 'python3 DIR/model.py'
to compare PyTorch's logits with nas's.

--format onnx writes model.onnx (opset 13, input "input" of shape N x C x H x W, output
"logits" of shape N x classes, initializers named as model.py's state_dict) with the
same weights, check.safetensors and arch.json.

--format json writes layers.json: arch.json's fields and the decoded layer list with
per-layer input and output shapes, MACs and params.

Without --weights, or for a zoo network, the weights are PyTorch's default
initialization drawn from a fixed seed, written to weights.safetensors so that
check.safetensors is reproducible. --weights exports a candidate's proxy-trained
weights (at the proxy shape). --input and --classes export at another shape.

arch.json holds name or genome, hash, macs, params, model_params, input, classes,
weights ("initial" or "trained"), seed, and provenance (nas_version, source). macs
and params are nas's price of the network; model_params is the number of trainable
values the exported model holds, which is more where the price is of a deployed form
(a learned group convolution, exported in its masked training form, is priced as the
group convolution it converts to).`,
		Example: `  nas export --zoo mobilenet_v2 --input 32x32x3 --classes 10 -o out/mnv2
  nas export --zoo shufflenet_v2 --format onnx -o out/shufflenet
  nas export 42 --format pytorch --weights -o out/candidate42`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.id = args[0]
			}
			return runExport(o)
		},
	}
	cmd.Flags().StringVar(&o.zoo, "zoo", "", "export the zoo network NAME instead of a candidate")
	cmd.Flags().StringVar(&o.format, "format", "pytorch", "pytorch, onnx or json")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "directory to write into (created if missing)")
	cmd.Flags().StringVar(&o.input, "input", "", "input shape HxWxC (default the network's reference or target shape)")
	cmd.Flags().IntVar(&o.classes, "classes", 0, "number of classes (default the network's reference or target count)")
	cmd.Flags().BoolVar(&o.weights, "weights", false, "export a candidate's proxy-trained weights")
	dbFlag(cmd, &o.db)
	return cmd
}

// archJSON is arch.json, the exported network's description. Its field names are a
// stable contract.
type archJSON map[string]any

func runExport(o *exportOptions) error {
	switch o.format {
	case "pytorch", "onnx", "json":
	default:
		return usagef("--format %q: want pytorch, onnx or json", o.format)
	}
	if o.out == "" {
		return usagef("-o DIR is required")
	}
	if (o.id == "") == (o.zoo == "") {
		return usagef("give either a candidate ID or --zoo NAME")
	}
	if o.classes < 0 {
		return usagef("--classes %d: must be positive", o.classes)
	}
	var in ops.Shape
	if o.input != "" {
		s, err := ops.ParseShape(o.input)
		if err != nil {
			return usagef("--input: %v", err)
		}
		in = s
	}
	var (
		net  *ops.Network
		arch = archJSON{}
	)
	trained := false
	if o.zoo != "" {
		if o.weights {
			return usagef("--weights: zoo networks have no trained weights")
		}
		n, spec, err := buildZoo(o.zoo, in, o.classes)
		if err != nil {
			return err
		}
		net = n
		arch["name"] = spec.Name
		arch["provenance"] = map[string]any{"nas_version": version(), "source": "zoo: " + spec.Source}
	} else {
		id, err := strconv.ParseInt(o.id, 10, 64)
		if err != nil || id <= 0 {
			return usagef("candidate ID %q: want a positive whole number", o.id)
		}
		n, info, err := loadCandidate(o.db, id, in, o.classes, o.weights)
		if err != nil {
			return fmt.Errorf("candidate %d: %w", id, err)
		}
		net, trained = n, o.weights
		for k, v := range info {
			arch[k] = v
		}
		if _, ok := arch["provenance"]; !ok {
			arch["provenance"] = map[string]any{"nas_version": version(), "source": fmt.Sprintf("candidate %d of %s", id, o.db)}
		}
	}
	if !trained {
		net.Init(rand.New(rand.NewPCG(exportSeed, exportSeed)))
		arch["weights"] = "initial"
		arch["seed"] = exportSeed
	} else {
		arch["weights"] = "trained"
	}
	c := net.Cost()
	arch["macs"], arch["params"], arch["model_params"] = c.MACs, c.Params, net.ParamCount()
	arch["input"], arch["classes"] = net.Input().String(), net.OutShape().Size()
	if _, ok := arch["hash"]; !ok {
		h, err := layersHash(net)
		if err != nil {
			return err
		}
		arch["hash"] = h
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("-o %s: %w", o.out, err)
	}
	var files []exportFile
	switch o.format {
	case "pytorch":
		files = append(files,
			exportFile{"model.py", func(w io.Writer) error { return export.PyTorch(net, w) }},
			exportFile{"weights.safetensors", func(w io.Writer) error { return export.Safetensors(w, export.StateDict(net)) }},
			checkFile(net), archFile(arch))
	case "onnx":
		files = append(files,
			exportFile{"model.onnx", func(w io.Writer) error { return export.ONNX(net, w) }},
			checkFile(net), archFile(arch))
	case "json":
		files = append(files, exportFile{"layers.json", func(w io.Writer) error {
			doc := map[string]any{}
			for k, v := range arch {
				doc[k] = v
			}
			doc["layers"] = export.Layers(net).Layers
			return writeJSON(w, doc)
		}})
	}
	for _, f := range files {
		path := filepath.Join(o.out, f.name)
		if err := writeFileWith(path, f.write); err != nil {
			return err
		}
		fmt.Fprintln(o.stdout, path)
	}
	return nil
}

// exportFile is one file of an export and the function writing its contents.
type exportFile struct {
	name  string
	write func(io.Writer) error
}

func checkFile(net *ops.Network) exportFile {
	return exportFile{"check.safetensors", func(w io.Writer) error {
		t, err := export.CheckTensors(net, export.CheckSeed)
		if err != nil {
			return err
		}
		return export.Safetensors(w, t)
	}}
}

func archFile(arch archJSON) exportFile {
	return exportFile{"arch.json", func(w io.Writer) error { return writeJSON(w, arch) }}
}

// writeFileWith writes path from f, in full or not at all: it writes a temporary
// file beside it and renames it into place.
func writeFileWith(path string, f func(io.Writer) error) error {
	var b bytes.Buffer
	if err := f(&b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// layersHash fingerprints a network by the SHA-256 of its layer list (kinds, shapes
// and costs), for networks that have no genome hash.
func layersHash(net *ops.Network) (string, error) {
	b, err := json.Marshal(export.Layers(net))
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8]), nil
}
