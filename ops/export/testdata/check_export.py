#!/usr/bin/python3
"""Validates nas's PyTorch and ONNX exports against nas itself. Run by hand where
PyTorch exists (Debian's python3-torch 1.13 and python3-onnx); CI has no Python.

    go build -o /tmp/nas ./cmd/nas
    (cd /tmp && npm install onnxruntime-node --ignore-scripts)
    /usr/bin/python3 ops/export/testdata/check_export.py --nas /tmp/nas --node-modules /tmp/node_modules

It exports zoo networks with 'nas export --zoo NAME' (both formats, into a temporary
directory) and, with --gen (the default), a candidate of every block family of the
search space, every zoo network and the small networks of the learned and dynamic
grouping operators (ops/export/internal/cases: learned group and dynamic group
convolutions, DSConv, ScaleNet's scale aggregation, CondenseNet-74's training form),
with random batch norm statistics and condensed or dropping as after training, through
'go run ./ops/export/testdata/exportgen'. For each export it checks:
  - the PyTorch model's parameter count equals nas's (arch.json's model_params,
    the values the exported model holds; params, nas's price, where it is absent);
  - its logits on check.safetensors match nas's within 1e-4, relative to their
    largest magnitude (the issue's tolerance);
  - onnx.checker.check_model accepts model.onnx;
  - onnxruntime's logits match nas's within 1e-4 relative (onnxruntime from python
    if importable, else onnxruntime-node through ort_check.js).
It prints one line per network and exits 1 if any check fails, 0 with
"skipped: no torch" where PyTorch is missing.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
except ImportError:
    print("skipped: no torch")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
TOL = 1e-4  # issue 7: logits within 1e-4 relative

# Zoo networks exported through the command: name, input (empty: the reference).
ZOO = [
    ("reference_net", ""),
    ("mobilenet_v2", "32x32x3"),
    ("shufflenet_v2", "32x32x3"),
    ("squeezenet1_1", "64x64x3"),
    ("mixnet_s", "32x32x3"),
    ("oct_resnet50", "64x64x3"),
    ("bl_resnet50", "64x64x3"),
    ("condensenet74_c4", "32x32x3"),
    ("dgc_resnet18", "32x32x3"),
    ("scalenet50", "32x32x3"),
]


def load_module(path):
    spec = importlib.util.spec_from_file_location("nas_model_%d" % abs(hash(path)), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_torch(d, want_params):
    mod = load_module(os.path.join(d, "model.py"))
    model = mod.build_model()
    mod.load_weights(model, os.path.join(d, "weights.safetensors"))
    model.eval()
    ref = mod.read_safetensors(os.path.join(d, "check.safetensors"))
    with torch.no_grad():
        got = mod.logits(model, ref["input"])
    want = ref["logits"]
    diff = ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()
    return mod.param_count(model), want_params, diff


def check_onnx(d, node_modules):
    import onnx
    m = onnx.load(os.path.join(d, "model.onnx"))
    onnx.checker.check_model(m, full_check=True)
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        mod = load_module(os.path.join(d, "model.py")) if os.path.exists(os.path.join(d, "model.py")) else None
        ref = mod.read_safetensors(os.path.join(d, "check.safetensors"))
        sess = ort.InferenceSession(os.path.join(d, "model.onnx"))
        got = sess.run(["logits"], {"input": ref["input"].numpy()})[0]
        want = ref["logits"].numpy()
        return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
    if not node_modules:
        return None
    env = dict(os.environ, NODE_PATH=node_modules)
    out = subprocess.run(["node", os.path.join(HERE, "ort_check.js"), d], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["diff"]


def check_dir(name, d, node_modules, results):
    ok = True
    line = name
    if os.path.exists(os.path.join(d, "model.py")):
        arch = json.load(open(os.path.join(d, "arch.json")))
        got, want, diff = check_torch(d, arch.get("model_params", arch["params"]))
        good = got == want and diff <= TOL
        ok &= good
        line += "  torch: params %d (nas %d) diff %.2e%s" % (got, want, diff, "" if good else "  FAIL")
    onnx_dir = d if os.path.exists(os.path.join(d, "model.onnx")) else d + "_onnx"
    if os.path.exists(os.path.join(onnx_dir, "model.onnx")):
        try:
            diff = check_onnx(onnx_dir, node_modules)
            if diff is None:
                line += "  onnx: checker ok, no onnxruntime"
            else:
                good = diff <= TOL
                ok &= good
                line += "  onnx: checker ok, ort diff %.2e%s" % (diff, "" if good else "  FAIL")
        except Exception as e:  # the checker's and runtime's errors
            ok = False
            line += "  onnx: FAIL %s" % str(e).splitlines()[0]
    print(line, flush=True)
    results.append(ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nas", help="a nas binary with the export command")
    ap.add_argument("--node-modules", default="", help="node_modules holding onnxruntime-node")
    ap.add_argument("--no-gen", action="store_true", help="skip the exportgen cases")
    ap.add_argument("--dir", help="write the exports here instead of a temporary directory")
    args = ap.parse_args()
    out = args.dir or tempfile.mkdtemp(prefix="nas-export-")
    results = []
    if args.nas:
        for name, shape in ZOO:
            d = os.path.join(out, "cmd_" + name)
            for fmt, dd in (("pytorch", d), ("onnx", d + "_onnx")):
                cmd = [args.nas, "export", "--zoo", name, "--format", fmt, "-o", dd]
                if shape:
                    cmd += ["--input", shape, "--classes", "10"]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            check_dir("nas export --zoo %s %s" % (name, shape), d, args.node_modules, results)
    if not args.no_gen:
        gen = os.path.join(out, "gen")
        listed = subprocess.run(["go", "run", "./ops/export/testdata/exportgen", "-o", gen], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.split()
        for d in listed:
            check_dir(os.path.basename(d), d, args.node_modules, results)
    print("%d of %d exports pass" % (sum(results), len(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
