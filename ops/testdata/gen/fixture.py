"""Writes PyTorch golden data for nas's ops tests in the safetensors layout.

A fixture file is an 8-byte little-endian header length, a JSON header mapping each
tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} plus a
"__metadata__" object of strings (the case's configuration as JSON under "config"),
then the raw little-endian float32 data. Written by hand so that no safetensors
package is needed; read by ops/fixture_test.go.

Every generator script in this folder imports this module, seeds torch, and writes to
../fixtures/NAME.safetensors. Run them with Debian's python3-torch 1.13:
    cd ops/testdata/gen && /usr/bin/python3 gen_NAME.py
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def write(name, config, tensors):
    """Writes tensors (name -> torch tensor or numpy array) and config (a JSON-able dict)."""
    header, blobs, off = {"__metadata__": {"config": json.dumps(config, sort_keys=True)}}, [], 0
    for key in sorted(tensors):
        t = tensors[key]
        a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
        a = np.ascontiguousarray(a, dtype="<f4")
        b = a.tobytes()
        header[key] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
