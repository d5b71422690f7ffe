package ops

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// vmaFlags returns the VmFlags of the mapping of /proc/self/smaps that holds addr.
func vmaFlags(t *testing.T, addr uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fs := strings.Fields(line); len(fs) > 1 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			lo, hi, _ := strings.Cut(fs[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uintptr(a) <= addr && addr < uintptr(b)
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(rest)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}

// TestMakeFloatsAdvisesHugePages checks that a large buffer's whole address range is
// marked for huge pages (VmFlags "hg", which MADV_HUGEPAGE sets whatever the
// system's transparent_hugepage mode), or, on a kernel built without transparent
// huge pages, that adviseHuge reports the advice refused.
func TestMakeFloatsAdvisesHugePages(t *testing.T) {
	defer SetHugePages(SetHugePages(true))
	const n = 3*hugePageBytes/4 + 1000 // 6 MiB and a little: spans four huge pages
	s := makeFloats(n)
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		if adviseHuge(s) {
			t.Errorf("no transparent huge pages here (%v), yet adviseHuge reported the advice taken", err)
		}
		return
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if flags := vmaFlags(t, uintptr(unsafe.Pointer(&s[i]))); !slices.Contains(flags, "hg") {
			t.Errorf("value %d of %d: VmFlags %v, want hg", i, n, flags)
		}
	}
	if !adviseHuge(s) {
		t.Error("adviseHuge reported that the kernel refused the advice")
	}
	for i, v := range s {
		if v != 0 {
			t.Fatalf("value %d is %v, want a zeroed buffer", i, v)
		}
	}
}

func TestSetHugePages(t *testing.T) {
	old := SetHugePages(false)
	defer SetHugePages(old)
	if SetHugePages(true) {
		t.Error("SetHugePages(true) after SetHugePages(false) returned true")
	}
	if !hugePages.Load() || !SetHugePages(false) || hugePages.Load() {
		t.Error("SetHugePages does not switch the advice")
	}
}

func TestHugePagesWanted(t *testing.T) {
	for _, c := range []struct {
		godebug string
		want    bool
	}{
		{"", true},
		{"disablethp=1", false},
		{"madvdontneed=1, disablethp=1", false},
		{"disablethp=0", true},
		{"disablethp=1,disablethp=0", true},
		{"xdisablethp=1", true},
	} {
		if got := hugePagesWanted(c.godebug); got != c.want {
			t.Errorf("hugePagesWanted(%q) = %v, want %v", c.godebug, got, c.want)
		}
	}
}
