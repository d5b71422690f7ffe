package gemm

import (
	"syscall"
	"unsafe"
)

// threadCPU returns the CPU time of the calling OS thread in seconds
// (CLOCK_THREAD_CPUTIME_ID), which a shared, oversubscribed machine inflates far less
// than wall time. ok is false if the clock is unavailable.
func threadCPU() (sec float64, ok bool) {
	const clockThreadCPUTimeID = 3 // <linux/time.h>
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return float64(ts.Nano()) / 1e9, true
}
