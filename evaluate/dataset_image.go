package evaluate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"nas/ops"
)

// images is a decoded set of labelled images, stored compactly: sample i's bytes are
// pix[i*size:(i+1)*size] in CHW order, its label labels[i].
type images struct {
	pix    []uint8
	labels []uint8
}

func (im *images) len() int { return len(im.labels) }

// source is what a loader hands to newImageDataset: the decoded training set and a
// function that decodes the test set. Loaders check that every label is below
// classes and that the test set has the training set's shape.
type source struct {
	shape    ops.Shape
	classes  int
	train    *images
	loadTest func() (*images, error)
	// augment turns on the CIFAR-10 training augmentation of He et al. (2016),
	// "Deep residual learning for image recognition", section 4.2: a random crop of
	// the image padded by cropPad pixels, and a random horizontal flip.
	augment bool
}

// cropPad is the padding of the random-crop augmentation, in pixels.
const cropPad = 4

// imageDataset is the Dataset of every loader in this package.
type imageDataset struct {
	name    string
	shape   ops.Shape
	classes int
	augment bool

	all        *images // the whole original training set
	train, val []int32 // sample numbers in all of the training and validation splits
	test       func() (*images, error)

	mean, std []float32
	// lut[c*256+v] is the normalised value of byte v in channel c.
	lut []float32
}

var _ Dataset = (*imageDataset)(nil)

// newImageDataset holds out the validation split of src's training set, applies the
// training limit and computes the normalisation.
func newImageDataset(name string, src *source, opts Options) (*imageDataset, error) {
	total := src.train.len()
	if total == 0 {
		return nil, errors.New("the training set is empty")
	}
	nval := opts.ValSize
	switch {
	case nval == 0:
		nval = int(DefaultValFraction * float64(total))
	case nval < 0:
		nval = 0
	}
	if nval >= total {
		return nil, fmt.Errorf("validation size %d leaves no training images out of %d", nval, total)
	}
	train, val := holdOut(src.train.labels, src.classes, nval, opts.Seed)
	if opts.TrainLimit > 0 {
		if opts.TrainLimit > len(train) {
			return nil, fmt.Errorf("training-set size %d exceeds the %d training images left after holding out %d for validation",
				opts.TrainLimit, len(train), nval)
		}
		train = train[:opts.TrainLimit:opts.TrainLimit]
	}
	d := &imageDataset{
		name:    name,
		shape:   src.shape,
		classes: src.classes,
		augment: src.augment,
		all:     src.train,
		train:   train,
		val:     val,
	}
	d.test = sync.OnceValues(func() (*images, error) {
		im, err := src.loadTest()
		if err != nil {
			return nil, fmt.Errorf("dataset %s: test set: %w", name, err)
		}
		return im, nil
	})
	d.mean, d.std = channelStats(src.train, train, src.shape)
	d.lut = make([]float32, 256*src.shape.C)
	for c := range src.shape.C {
		for v := range 256 {
			// The same float32 operations as the reference recipe's
			// (X/255 - mean)/std (reference_net.py, train).
			d.lut[c*256+v] = (float32(v)/255 - d.mean[c]) / d.std[c]
		}
	}
	return d, nil
}

// channelStats returns the mean and the population standard deviation (as numpy's
// std) of each channel's pixel values scaled to [0, 1], over the samples idx of im.
// It counts a histogram of byte values per channel, which makes the sums exact. A
// channel with no variation gets standard deviation 1, so that normalising leaves
// it centred rather than dividing by zero.
func channelStats(im *images, idx []int32, s ops.Shape) (mean, std []float32) {
	plane, size := s.H*s.W, s.Size()
	hist := make([][256]uint64, s.C)
	for _, k := range idx {
		sample := im.pix[int(k)*size : int(k+1)*size]
		for c := range s.C {
			h := &hist[c]
			for _, v := range sample[c*plane : (c+1)*plane] {
				h[v]++
			}
		}
	}
	n := float64(len(idx) * plane)
	mean, std = make([]float32, s.C), make([]float32, s.C)
	for c := range s.C {
		var sum float64
		for v, k := range hist[c] {
			sum += float64(k) * float64(v)
		}
		m := sum / 255 / n
		var ss float64
		for v, k := range hist[c] {
			d := float64(v)/255 - m
			ss += float64(k) * d * d
		}
		mean[c] = float32(m)
		std[c] = float32(math.Sqrt(ss / n))
		if std[c] == 0 {
			std[c] = 1
		}
	}
	return mean, std
}

// Name returns the dataset's name as given to Open.
func (d *imageDataset) Name() string { return d.name }

// Shape returns the shape of one sample.
func (d *imageDataset) Shape() ops.Shape { return d.shape }

// Classes returns the number of classes.
func (d *imageDataset) Classes() int { return d.classes }

// Normalization returns copies of the per-channel mean and standard deviation.
func (d *imageDataset) Normalization() (mean, std []float32) {
	return append([]float32(nil), d.mean...), append([]float32(nil), d.std...)
}

// Len returns the number of samples of split s, loading the test set for Test.
func (d *imageDataset) Len(s Split) (int, error) {
	switch s {
	case Train:
		return len(d.train), nil
	case Val:
		return len(d.val), nil
	case Test:
		im, err := d.test()
		if err != nil {
			return 0, err
		}
		return im.len(), nil
	}
	return 0, fmt.Errorf("invalid split %d", int(s))
}

// Batch writes the samples indices of split s into x and their labels into labels.
func (d *imageDataset) Batch(s Split, indices []int, x []float32, labels []int, rng *rand.Rand) error {
	var (
		set = d.all
		idx []int32 // nil for the test set, whose sample numbers are its indices
		n   int
	)
	switch s {
	case Train:
		idx = d.train
		n = len(idx)
	case Val:
		idx = d.val
		n = len(idx)
	case Test:
		im, err := d.test()
		if err != nil {
			return err
		}
		set, n = im, im.len()
	default:
		return fmt.Errorf("invalid split %d", int(s))
	}
	size := d.shape.Size()
	if len(x) != len(indices)*size {
		return fmt.Errorf("batch of %d samples of %v: x has %d values, want %d", len(indices), d.shape, len(x), len(indices)*size)
	}
	if len(labels) != len(indices) {
		return fmt.Errorf("batch of %d samples: labels has %d elements", len(indices), len(labels))
	}
	augment := s == Train && d.augment && rng != nil
	for i, j := range indices {
		if j < 0 || j >= n {
			return fmt.Errorf("index %d out of range [0, %d) of the %s split", j, n, s)
		}
		k := j
		if idx != nil {
			k = int(idx[j])
		}
		src := set.pix[k*size : (k+1)*size]
		dst := x[i*size : (i+1)*size]
		labels[i] = int(set.labels[k])
		if augment {
			d.cropFlip(dst, src, rng)
		} else {
			d.normalize(dst, src)
		}
	}
	return nil
}

// normalize writes the normalised values of the CHW sample src into dst.
func (d *imageDataset) normalize(dst []float32, src []uint8) {
	plane := d.shape.H * d.shape.W
	for c := range d.shape.C {
		lut := d.lut[c*256 : (c+1)*256 : (c+1)*256]
		s, o := src[c*plane:(c+1)*plane], dst[c*plane:(c+1)*plane]
		for p, v := range s {
			o[p] = lut[v]
		}
	}
}

// cropFlip writes into dst a random H x W crop of src padded with cropPad zero bytes
// on every side, flipped horizontally with probability 1/2, normalised. As in
// torchvision's RandomCrop(padding=4) before ToTensor and Normalize, the padding is
// zero before normalisation. It draws the crop's top, its left and the flip, in
// that order.
func (d *imageDataset) cropFlip(dst []float32, src []uint8, rng *rand.Rand) {
	h, w := d.shape.H, d.shape.W
	oy := rng.IntN(2*cropPad+1) - cropPad
	ox := rng.IntN(2*cropPad+1) - cropPad
	flip := rng.IntN(2) == 1
	plane := h * w
	for c := range d.shape.C {
		lut := d.lut[c*256 : (c+1)*256 : (c+1)*256]
		s, o := src[c*plane:(c+1)*plane], dst[c*plane:(c+1)*plane]
		for y := range h {
			row := o[y*w : (y+1)*w]
			sy := y + oy
			if sy < 0 || sy >= h {
				for x := range row {
					row[x] = lut[0]
				}
				continue
			}
			srow := s[sy*w : (sy+1)*w]
			for x := range row {
				sx := x + ox
				if flip {
					sx = w - 1 - x + ox
				}
				if sx < 0 || sx >= w {
					row[x] = lut[0]
				} else {
					row[x] = lut[srow[sx]]
				}
			}
		}
	}
}
