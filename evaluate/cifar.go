package evaluate

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"nas/ops"
)

// The CIFAR-10 binary version (Krizhevsky, "Learning multiple layers of features
// from tiny images", 2009; the "CIFAR-10 binary version" of its web page) is a set
// of files of records of one label byte followed by a 32x32 colour image as 1024
// red, 1024 green and 1024 blue bytes, rows first: CHW order.
const (
	cifarClasses = 10
	// cifarSubdir is the folder the binary tarball unpacks into.
	cifarSubdir = "cifar-10-batches-bin"
)

var (
	cifarShape      = ops.Shape{C: 3, H: 32, W: 32}
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFiles  = []string{"test_batch.bin"}
)

// cifar10Source returns the source of CIFAR-10 from the binary files in dir or in
// its subfolder cifar-10-batches-bin. Its training split is augmented.
func cifar10Source(dir string) (*source, error) {
	if dir == "" {
		return nil, errNoDataDir
	}
	if _, err := os.Stat(filepath.Join(dir, cifarTrainFiles[0])); err != nil {
		if sub := filepath.Join(dir, cifarSubdir); isFile(filepath.Join(sub, cifarTrainFiles[0])) {
			dir = sub
		}
	}
	train, err := readCIFAR(dir, cifarTrainFiles)
	if err != nil {
		return nil, err
	}
	return &source{
		shape:    cifarShape,
		classes:  cifarClasses,
		train:    train,
		loadTest: func() (*images, error) { return readCIFAR(dir, cifarTestFiles) },
		augment:  true,
	}, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// readCIFAR reads the records of the named files in dir, in order.
func readCIFAR(dir string, names []string) (*images, error) {
	size := cifarShape.Size()
	rec := 1 + size
	paths := make([]string, len(names))
	counts := make([]int, len(names))
	total := 0
	for i, name := range names {
		paths[i] = filepath.Join(dir, name)
		fi, err := os.Stat(paths[i])
		if err != nil {
			return nil, err
		}
		if fi.Size() == 0 || fi.Size()%int64(rec) != 0 {
			return nil, fmt.Errorf("%s: size %d bytes is not a positive whole number of %d-byte records (truncated or not a CIFAR-10 binary file)", paths[i], fi.Size(), rec)
		}
		counts[i] = int(fi.Size() / int64(rec))
		total += counts[i]
	}
	im := &images{pix: make([]uint8, total*size), labels: make([]uint8, total)}
	k := 0
	for i, p := range paths {
		if err := readCIFARFile(p, im, k, counts[i]); err != nil {
			return nil, err
		}
		k += counts[i]
	}
	return im, nil
}

// readCIFARFile reads n records from the file at path into im from sample k on.
func readCIFARFile(path string, im *images, k, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	size := cifarShape.Size()
	for i := k; i < k+n; i++ {
		l, err := r.ReadByte()
		if err == nil {
			_, err = io.ReadFull(r, im.pix[i*size:(i+1)*size])
		}
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", path, i-k, readErr(err))
		}
		if l >= cifarClasses {
			return fmt.Errorf("%s: label %d of record %d out of range [0, %d)", path, l, i-k, cifarClasses)
		}
		im.labels[i] = l
	}
	return nil
}
