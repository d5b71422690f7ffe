// Package ops is nas's operator library: float32 NCHW tensors, layers with forward
// and backward passes, the blocks of the grouped-convolution literature, their cost
// in MACs and parameters, the network container and the SGD optimizer step.
//
// It sits at the bottom of the flow ops <- space <- evaluate <- search and imports
// nothing else of nas.
//
// # Cost convention
//
// MACs count one multiply-accumulate per weight use: for each convolution
// H_out*W_out*C_out*(C_in/groups)*k_h*k_w, for each linear layer in*out. Batch norm,
// activations, pooling, additions, biases and shuffles are not counted. This is what
// torchvision reports as "GFLOPS" and what the MobileNet and ShuffleNet papers call
// FLOPs or Mult-Adds, so a budget of 300MFLOPs means 300M of these MACs. Params count
// weights, the biases that exist, and batch norm's gamma and beta, not its running
// statistics.
//
// # Ownership
//
// A layer owns the tensors it returns: the output of Forward and the input gradient
// of Backward stay valid until the layer's next call of the same method, and the
// layer reuses their memory across steps so that training does not allocate. Layers
// never modify their inputs. A layer instance keeps the state of its last Forward for
// Backward, so one instance serves one network at a time; separate networks can run
// concurrently.
package ops
