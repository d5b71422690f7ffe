// Package export writes an ops network out of nas: as a self-contained PyTorch
// model.py with its weights in the safetensors layout, as an ONNX model with the same
// weights, and as a JSON layer list with shapes and costs.
//
// Every format names a network's tensors by the ops parameter paths ("3.0.1.weight",
// see ops.Params), so that weights.safetensors, the PyTorch state_dict and the ONNX
// initializers agree name for name. Batch norm's running statistics are exported as
// PATH.running_mean and PATH.running_var, as PyTorch's buffers are called.
//
// The learned and dynamic grouping operators export exactly, in every format:
// CondenseNet's LearnedGroupConv in its masked (training) form, the dense 1x1 weight
// with the dropped connections zeroed and the mask a constant of model.py, so that
// parameter names and counts are nas's (zoo.Convert gives the converted form, which
// exports as IndexSelect, batch norm, group convolution and shuffle; one priced as
// its converted layer, ops.LearnedGroupConfig.PriceConverted as the search space
// builds them, exports the same masked form, so the model holds more parameters,
// ops.Network.ParamCount, than the network's Cost prices); DSConv as a
// convolution over its reconstructed weights (DSConv.Dequantized), its channel shift
// kept as a parameter when it has one; ScaleNet's scale aggregation with its pooling
// and nearest or bilinear resizing; and DynamicGroupConv with its saliency generators
// and per-sample top-k channel selection (TopK in ONNX). A dynamic group convolution
// exports the channels it drops now (DynamicGroupConv.Dropped), all it drops once
// trained. Its selection is discontinuous: a saliency within rounding of the
// threshold may pick another channel in PyTorch or ONNX than in nas.
//
// A layer type the exporters do not know is an error naming its type and path,
// never a silent omission. The package sits beside ops in the flow ops <- space <-
// evaluate <- search and imports only ops, the standard library and the generated
// ONNX protobuf types (github.com/advancedclimatesystems/gonnx/onnx).
package export
