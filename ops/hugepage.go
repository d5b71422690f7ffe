package ops

import (
	"os"
	"strings"
	"sync/atomic"
)

// Tensors are backed by transparent huge pages where the kernel offers them
// on request (Linux with /sys/kernel/mm/transparent_hugepage/enabled set to
// "madvise", the Debian default, or "always"). The Go runtime asks for none on its
// heap, so on a "madvise" system every activation and gradient of a training step
// sits on 4 KiB pages: streaming through the step's few hundred megabytes then
// costs a translation miss every 64 cache lines, each a two-level page walk on a
// virtual machine. makeFloats marks the 2 MiB-aligned span around each buffer
// of hugeMinBytes or more with MADV_HUGEPAGE before its first use, so that its
// pages are faulted in as 2 MiB pages (the span may take in neighbouring heap
// memory, which then becomes eligible too; the advice changes no value). Measured
// on reference_net.py's training step at batch 128 (see the commit message).
//
// The advice pays where a network's buffers live for many steps (nas train, nas
// bench). On a virtual machine whose fresh 2 MiB pages are costly to fault in, it
// does not where networks come and go every few seconds, as the search's proxies
// do; SetHugePages turns it off for those. GODEBUG=disablethp=1, the Go runtime's
// switch for keeping huge pages off its heap, turns it off from the start.
//
// The span is rounded outwards: it covers the buffer's first and last pages too, and
// it cannot leave the Go heap arena the buffer lies in, whose bounds are 64 MiB
// aligned. Rounded inwards, the advice gained little on reference_net.py's training
// step (1412-1731 images/s against 1979-2045 rounded outwards and 1356-1654 without
// huge pages, four alternated runs).

// hugeMinBytes is the smallest buffer makeFloats advises. Advising the smaller
// tensors too flags more of the heap before its first use: with 64 KiB instead of
// 1 MiB, nas bench reference_net --batch 128 ran at 1965-2096 images/s against
// 1767-1931 (five alternated pairs), and with 4 KiB at 1959-2259 against 2080-2179
// for 64 KiB, no clear difference.
const hugeMinBytes = 64 << 10

// hugePageBytes is the size of a transparent huge page on amd64 and arm64 Linux.
const hugePageBytes = 2 << 20

// hugePages switches the advice on; SetHugePages sets it.
var hugePages = func() *atomic.Bool {
	var b atomic.Bool
	b.Store(hugePagesWanted(os.Getenv("GODEBUG")))
	return &b
}()

// hugePagesWanted reports whether a GODEBUG setting leaves huge pages on: unless its
// last disablethp entry is disablethp=1, as the runtime reads it.
func hugePagesWanted(godebug string) bool {
	on := true
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, _ := strings.Cut(strings.TrimSpace(kv), "="); k == "disablethp" {
			on = v != "1"
		}
	}
	return on
}

// SetHugePages turns the huge-page advice for buffers allocated from now on on or
// off, and returns the previous setting.
func SetHugePages(on bool) bool { return hugePages.Swap(on) }

// makeFloats returns a zeroed slice of n values, advised onto huge pages when it is
// large enough (see above).
func makeFloats(n int) []float32 {
	s := make([]float32, n)
	if n*4 >= hugeMinBytes && hugePages.Load() {
		adviseHuge(s)
	}
	return s
}
