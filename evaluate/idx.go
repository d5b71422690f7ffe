package evaluate

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"nas/ops"
)

// The IDX format is that of the MNIST distribution (LeCun, Cortes and Burges, "The
// MNIST database of handwritten digits", section "The IDX file format"): two zero
// bytes, a data type byte, the number of dimensions, each dimension as a big-endian
// uint32, then the data in row-major order. Only unsigned bytes are supported, the
// type of every image and label file of MNIST, Fashion-MNIST and their kin.
const (
	idxUbyte = 0x08
	// idxMaxDims bounds the header; MNIST-style files have 1 (labels) or 3 (images).
	idxMaxDims = 4
	// idxMaxBytes bounds the declared data size at 4 GiB, far above any dataset
	// this package is for (MNIST's largest file holds 47 MB), so that a corrupt
	// header can neither overflow the size computation nor ask for absurd memory.
	idxMaxBytes = 1 << 32
)

// idxFile is the content of an IDX file of unsigned bytes.
type idxFile struct {
	dims []int
	data []uint8
}

// gzipMagic starts every gzip stream (RFC 1952, section 2.3.1); an IDX file starts
// with two zero bytes, so the two cannot be confused.
var gzipMagic = []byte{0x1f, 0x8b}

// readIDXFile decodes the IDX file at path, gzip-compressed or not. Its errors name
// the file.
func readIDXFile(path string) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := decodeIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// decodeIDX decodes an IDX file of unsigned bytes from r, decompressing it first if
// it is gzip-compressed. It checks that the data has exactly the size the header
// declares and, for gzip, the stream's checksum.
func decodeIDX(r io.Reader) (*idxFile, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var in io.Reader = br
	if head, err := br.Peek(2); err == nil && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bad gzip header: %w", err)
		}
		defer z.Close()
		in = z
	}
	var head [4]byte
	if _, err := io.ReadFull(in, head[:]); err != nil {
		return nil, fmt.Errorf("truncated header: %w", readErr(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("bad magic number %#08x: not an IDX file", binary.BigEndian.Uint32(head[:]))
	}
	if head[2] != idxUbyte {
		return nil, fmt.Errorf("unsupported IDX data type %#02x: want unsigned bytes (0x08)", head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > idxMaxDims {
		return nil, fmt.Errorf("bad IDX header: %d dimensions, want 1 to %d", nd, idxMaxDims)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(in, raw); err != nil {
		return nil, fmt.Errorf("truncated header: %w", readErr(err))
	}
	dims := make([]int, nd)
	size := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		// Checked before multiplying, so that the product cannot overflow.
		if dims[i] != 0 && size > idxMaxBytes/int64(dims[i]) {
			return nil, fmt.Errorf("bad IDX header: dimensions %v declare more than %d bytes", dims[:i+1], int64(idxMaxBytes))
		}
		size *= int64(dims[i])
	}
	data, err := readN(in, size)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("truncated data: %d of the %d bytes of dimensions %v: %w", len(data), size, dims, readErr(err))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the data of dimensions %v: %w", dims, err)
	}
	// Reading one byte more reaches the end of a gzip stream, where the reader
	// verifies the checksum and the length.
	var one [1]byte
	switch _, err := io.ReadFull(in, one[:]); {
	case err == nil:
		return nil, fmt.Errorf("trailing data after the %d bytes of dimensions %v", size, dims)
	case err != io.EOF:
		return nil, fmt.Errorf("after the data: %w", readErr(err))
	}
	return &idxFile{dims: dims, data: data}, nil
}

// readErr describes an unexpected end of the input as truncation.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file ends early: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// readN reads exactly n bytes from r. It grows its buffer with the data that
// actually arrives rather than trusting a header's n, so a corrupt header cannot
// make it allocate much more than the input holds; the result has capacity n.
func readN(r io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, 0, min(n, 1<<20))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF && int64(len(buf)) < n {
			return buf, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return buf, err
		}
	}
	return buf, nil
}

// encodeIDX returns the uncompressed IDX encoding of an unsigned-byte array of the
// given dimensions. It is decodeIDX's inverse.
func encodeIDX(dims []int, data []uint8) []byte {
	out := make([]byte, 4+4*len(dims), 4+4*len(dims)+len(data))
	out[2], out[3] = idxUbyte, byte(len(dims))
	for i, d := range dims {
		binary.BigEndian.PutUint32(out[4+4*i:], uint32(d))
	}
	return append(out, data...)
}

// idxNames are the accepted spellings of the four files of an MNIST-format
// dataset; each may also end in ".gz". The dotted forms are what some archive tools
// make of the originals.
var idxNames = map[Split][2][]string{
	Train: {
		{"train-images-idx3-ubyte", "train-images.idx3-ubyte"},
		{"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"},
	},
	Test: {
		{"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"},
		{"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"},
	},
}

// findFile returns the first of names, each tried with ".gz" and without, that
// exists in dir.
func findFile(dir string, names []string) (string, error) {
	for _, name := range names {
		for _, ext := range []string{".gz", ""} {
			p := filepath.Join(dir, name+ext)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("no %s[.gz] in %s: %w", strings.Join(names, "[.gz] or "), dir, fs.ErrNotExist)
}

// idxPair is one split of an MNIST-format dataset: its images, their shape and the
// files they came from.
type idxPair struct {
	*images
	shape            ops.Shape
	imgPath, lblPath string
}

// readIDXPair reads the images and labels of one split of an MNIST-format dataset
// in dir and checks that they match.
func readIDXPair(dir string, s Split) (*idxPair, error) {
	names := idxNames[s]
	imgPath, err := findFile(dir, names[0])
	if err != nil {
		return nil, err
	}
	lblPath, err := findFile(dir, names[1])
	if err != nil {
		return nil, err
	}
	img, err := readIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	if len(img.dims) != 3 || img.dims[1] == 0 || img.dims[2] == 0 {
		return nil, fmt.Errorf("%s: dimensions %v, want 3 (images, rows, columns) with rows and columns > 0", imgPath, img.dims)
	}
	lbl, err := readIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	if len(lbl.dims) != 1 {
		return nil, fmt.Errorf("%s: dimensions %v, want 1 (labels)", lblPath, lbl.dims)
	}
	if img.dims[0] != lbl.dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imgPath, img.dims[0], lblPath, lbl.dims[0])
	}
	return &idxPair{
		images:  &images{pix: img.data, labels: lbl.data},
		shape:   ops.Shape{C: 1, H: img.dims[1], W: img.dims[2]},
		imgPath: imgPath,
		lblPath: lblPath,
	}, nil
}

// checkLabels returns an error naming file if a label is not below classes.
func checkLabels(labels []uint8, classes int, file string) error {
	for i, l := range labels {
		if int(l) >= classes {
			return fmt.Errorf("%s: label %d of sample %d out of range [0, %d)", file, l, i, classes)
		}
	}
	return nil
}

// idxDirSource returns the source of an MNIST-format dataset in dir. If want is
// not the zero Shape, the images must have that shape; if classes is 0, it is the
// largest training label plus one.
func idxDirSource(dir string, want ops.Shape, classes int) (*source, error) {
	train, err := readIDXPair(dir, Train)
	if err != nil {
		return nil, err
	}
	if want != (ops.Shape{}) && train.shape != want {
		return nil, fmt.Errorf("%s: images are %v, want %v", train.imgPath, train.shape, want)
	}
	if classes == 0 {
		for _, l := range train.labels {
			classes = max(classes, int(l)+1)
		}
		if classes < 2 {
			return nil, fmt.Errorf("%s: largest label %d, want at least 2 classes", train.lblPath, classes-1)
		}
	}
	if err := checkLabels(train.labels, classes, train.lblPath); err != nil {
		return nil, err
	}
	loadTest := func() (*images, error) {
		test, err := readIDXPair(dir, Test)
		if err != nil {
			return nil, err
		}
		if test.shape != train.shape {
			return nil, fmt.Errorf("%s: images are %v but the training images are %v", test.imgPath, test.shape, train.shape)
		}
		if err := checkLabels(test.labels, classes, test.lblPath); err != nil {
			return nil, err
		}
		return test.images, nil
	}
	return &source{shape: train.shape, classes: classes, train: train.images, loadTest: loadTest}, nil
}

// idxSource returns the source of the "idx" dataset: any MNIST-format files in dir,
// of any image size and number of classes.
func idxSource(dir string) (*source, error) {
	if dir == "" {
		return nil, errNoDataDir
	}
	return idxDirSource(dir, ops.Shape{}, 0)
}
