package ops

import (
	"runtime"
	"sync"
)

// parallelFor splits [0, n) into at most GOMAXPROCS contiguous chunks and runs
// f(lo, hi) on each, concurrently, returning when all are done. The split depends only
// on n and the worker count, so work that reduces per chunk in chunk order is
// deterministic for a given GOMAXPROCS.
func parallelFor(n int, f func(worker, lo, hi int)) {
	w := workers(n)
	if w <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func(i, lo, hi int) {
			defer wg.Done()
			f(i, lo, hi)
		}(i, lo, hi)
	}
	wg.Wait()
}

// runtimeWorkers returns the most chunks parallelFor ever uses.
func runtimeWorkers() int { return runtime.GOMAXPROCS(0) }

// workers returns how many chunks parallelFor uses for n items.
func workers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}
