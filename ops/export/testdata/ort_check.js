// Runs DIR/model.onnx in onnxruntime on the input of DIR/check.safetensors and
// prints one JSON line: {"diff": max |ort - nas| / max |nas| over the logits}.
// Usage: NODE_PATH=/path/to/node_modules node ort_check.js DIR
// (onnxruntime-node from npm: npm install onnxruntime-node --ignore-scripts).
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (info.dtype !== "F32") throw new Error(`${name}: dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    const data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
    out[name] = { data, shape: info.shape };
  }
  return out;
}

async function main() {
  const dir = process.argv[2];
  const check = readSafetensors(path.join(dir, "check.safetensors"));
  const session = await ort.InferenceSession.create(path.join(dir, "model.onnx"));
  const x = new ort.Tensor("float32", check.input.data, check.input.shape);
  const result = await session.run({ input: x });
  const got = result.logits.data;
  const want = check.logits.data;
  if (got.length !== want.length) throw new Error(`${got.length} logits, want ${want.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  console.log(JSON.stringify({ diff: diff / Math.max(scale, 1e-30), shape: result.logits.dims }));
}

main().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
