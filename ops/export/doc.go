// Package export writes an ops network out of nas: as a self-contained PyTorch
// model.py with its weights in the safetensors layout, as an ONNX model with the same
// weights, and as a JSON layer list with shapes and costs.
//
// Every format names a network's tensors by the ops parameter paths ("3.0.1.weight",
// see ops.Params), so that weights.safetensors, the PyTorch state_dict and the ONNX
// initializers agree name for name. Batch norm's running statistics are exported as
// PATH.running_mean and PATH.running_var, as PyTorch's buffers are called.
//
// A layer type the exporters do not know is an error naming its type and path,
// never a silent omission. The package sits beside ops in the flow ops <- space <-
// evaluate <- search and imports only ops, the standard library and the generated
// ONNX protobuf types (github.com/advancedclimatesystems/gonnx/onnx).
package export
