// Package zoo builds the hand-designed networks that nas's search results are
// compared with (MobileNets, ShuffleNets, SqueezeNets, MixNets, Xception, GoogLeNet,
// ResNet-50 and ResNeXt-50, IGCV3, Octave and Big-Little ResNet-50, CondenseNet-74 and
// the benchmark's reference network) from package ops's layers and blocks, the same
// blocks the search composes.
//
// Each network is priced exactly like its reference implementation under the ops cost
// convention: its parameter count and MACs at the default input equal those of the
// implementation its file cites, as counted by testdata/gen_counts.py and stored in
// testdata/reference_counts.json. Networks can also be built at other input shapes
// and class counts (the search's proxy size, such as 32x32x3 and 10 classes) as long
// as the input survives the network's strides.
//
// BuildWith also builds MobileNetV1, MobileNetV2, ShuffleNet V2 and the reference
// network at a width multiplier, scaled as their reference implementations scale them
// (torchvision's width_mult and shufflenet_v2_xW, Keras's alpha), and with their
// first stride-2 downsamplings at stride 1, the search's proxy derivation for inputs
// smaller than the target; FitWidth finds the widest of them within a MAC budget, so
// that they can be compared with the search's candidates at the same cost and under
// the same proxy training. Their counts at the published widths and as proxies are in
// testdata/reference_counts.json too.
//
// Dropout layers of the reference implementations are left out: they cost nothing,
// and ops.Dropout needs a random source that a zoo network's construction does not
// take.
//
// It sits beside ops, which it imports, and is used by the command line (`nas zoo`)
// and by the search for its baselines; it imports nothing else of nas.
package zoo
