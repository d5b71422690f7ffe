package ops

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge marks the 2 MiB-aligned address range that covers s with
// MADV_HUGEPAGE and reports whether the kernel accepted it. Pages of the range
// already present stay as they are until the kernel's khugepaged merges them.
func adviseHuge(s []float32) bool {
	if len(s) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	hi := lo + uintptr(len(s))*4
	lo &^= hugePageBytes - 1
	hi = (hi + hugePageBytes - 1) &^ (hugePageBytes - 1)
	_, _, e := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
	return e == 0
}
