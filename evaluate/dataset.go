package evaluate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"nas/ops"
)

// Dataset is a labelled image classification dataset split into a training set, a
// validation set held out of the original training set, and a test set.
//
// Contract:
//   - Name, Shape and Classes describe the data: Shape is one sample's C, H, W and
//     labels lie in [0, Classes()).
//   - Len(s) is the number of samples of split s. Batch and Len index a split by
//     0..Len(s)-1. Loading the test set is deferred until Len(Test) or Batch(Test)
//     first asks for it, so that a search that never asks never reads it; its
//     loading error, if any, is returned then.
//   - Batch writes the samples indices[i] of split s into x in NCHW order
//     (len(x) == len(indices)*Shape().Size()) and their labels into labels
//     (len(labels) == len(indices)). The values are normalised per channel with the
//     statistics that Normalization reports. For the training split of a dataset
//     that augments, a random augmentation is drawn from rng for each sample; with a
//     nil rng, or for the other splits, the samples are returned as stored. Batch
//     does not retain x, labels or rng, and does not allocate once the test set is
//     loaded. On error the contents of x and labels are unspecified.
//   - Normalization returns the per-channel mean and standard deviation of the
//     training split's pixel values scaled to [0, 1], which Batch subtracts and
//     divides by. The slices are copies.
//   - The same name, files and Options give the same splits and the same values.
//   - Implementations are safe for concurrent use; each goroutine passes its own rng.
type Dataset interface {
	Name() string
	Shape() ops.Shape
	Classes() int
	Len(s Split) (int, error)
	Batch(s Split, indices []int, x []float32, labels []int, rng *rand.Rand) error
	Normalization() (mean, std []float32)
}

// errNoDataDir is returned by the loaders that need Options.DataDir.
var errNoDataDir = errors.New("no data directory: give the directory of the dataset's files (--data-dir)")

// NoValidation as Options.ValSize holds no validation images out of the training set.
const NoValidation = -1

// DefaultValFraction is the fraction of the training set held out for validation when
// Options.ValSize is 0.
const DefaultValFraction = 0.1

// Options selects where a dataset's files are and how its training set is split.
// The zero value gives the defaults.
type Options struct {
	// DataDir is the directory holding the dataset's files. If DataDir is "", mnist
	// is read from the Go module cache, fashion-mnist from
	// /usr/share/datasets/fashion-mnist; cifar10 and idx need it.
	DataDir string

	// ValSize is the number of images held out of the whole training set for
	// validation, stratified by class and chosen with Seed. The hold-out does not
	// depend on TrainLimit, so that runs at different training-set sizes are scored
	// on the same images. If ValSize is 0, DefaultValFraction of the training set
	// (rounded down) is held out; if it is NoValidation (or any negative value),
	// none is, and the validation split is empty.
	ValSize int

	// TrainLimit, if positive, keeps only the first TrainLimit images (in file
	// order) of what remains of the training set after the hold-out: the reference
	// recipe trains on "the first N training images". If TrainLimit is 0, all of
	// them are kept.
	TrainLimit int

	// Seed chooses the validation hold-out: the same Seed gives the same split.
	Seed uint64

	// Synthetic configures the synthetic dataset; other datasets ignore it.
	Synthetic SyntheticConfig
}

// datasetNames lists the names Open accepts, the default first.
var datasetNames = []string{"mnist", "fashion-mnist", "cifar10", "idx", "synthetic"}

// DatasetNames returns the names Open accepts; the first is the default.
func DatasetNames() []string { return append([]string(nil), datasetNames...) }

// Open loads the training set of the named dataset, holds out the validation split
// and computes the normalisation. The test set is read later, on first use. Names
// are those of DatasetNames: "mnist" (the default, also for ""), "fashion-mnist",
// "cifar10", "idx" and "synthetic".
func Open(name string, opts Options) (Dataset, error) {
	if name == "" {
		name = datasetNames[0]
	}
	var (
		src *source
		err error
	)
	switch name {
	case "mnist":
		src, err = mnistSource(opts.DataDir)
	case "fashion-mnist":
		src, err = fashionMNISTSource(opts.DataDir)
	case "cifar10":
		src, err = cifar10Source(opts.DataDir)
	case "idx":
		src, err = idxSource(opts.DataDir)
	case "synthetic":
		src, err = syntheticSource(opts.Synthetic)
	default:
		return nil, fmt.Errorf("unknown dataset %q: want one of %s", name, strings.Join(datasetNames, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	d, err := newImageDataset(name, src, opts)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return d, nil
}
