package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor splits [0, n) into at most GOMAXPROCS contiguous chunks and runs
// f(chunk, lo, hi) on each, concurrently, returning when all are done. The split
// depends only on n and the worker count, so work that reduces per chunk in chunk
// order is deterministic for a given GOMAXPROCS; chunk, in [0, workers(n)), names the
// chunk and may index per-worker scratch.
//
// The chunks are claimed one by one by the caller and by long-lived helper
// goroutines, so a call starts no goroutine and allocates nothing but what f's
// closure needs. The caller claims chunks too, and never waits for a chunk nobody has
// claimed: when the helpers are busy or not scheduled (on a loaded machine), the
// caller runs the chunks itself instead of waiting for them, and a parallelFor
// inside f cannot deadlock.
func parallelFor(n int, f func(chunk, lo, hi int)) {
	w := workers(n)
	if w <= 1 {
		f(0, 0, n)
		return
	}
	j := jobPool.Get().(*pfJob)
	j.f, j.n = f, n
	j.gen++
	j.pending.Store(int32(w))
	j.state.Store(j.gen<<32 | uint64(w)<<16)
	ensureHelpers(w - 1)
	for i := 1; i < w; i++ {
		select {
		case helperQueue <- pfTicket{j, j.gen}:
		default: // the queue is full: the caller runs the chunk
		}
	}
	j.run(j.gen)
	<-j.done
	j.f = nil
	jobPool.Put(j)
}

// pfJob is one parallelFor call's shared state. state packs the call's generation
// (high 32 bits), the chunk count (bits 16-31) and the next chunk to claim (low 16
// bits), so that a helper holding a ticket of an earlier call on a recycled job
// claims nothing.
type pfJob struct {
	f       func(chunk, lo, hi int)
	n       int
	gen     uint64 // written by the owning caller only
	state   atomic.Uint64
	pending atomic.Int32  // chunks not finished
	done    chan struct{} // receives once when pending reaches 0
}

// pfTicket asks a helper to claim chunks of job j's call gen.
type pfTicket struct {
	j   *pfJob
	gen uint64
}

// run claims and runs chunks of call gen until none is left.
func (j *pfJob) run(gen uint64) {
	for {
		v := j.state.Load()
		c, w := int(v&0xffff), int(v>>16&0xffff)
		if v>>32 != gen&0xffffffff || c >= w {
			return
		}
		if !j.state.CompareAndSwap(v, v+1) {
			continue
		}
		// The chunk is ours: the call cannot finish, nor the job be reused, before
		// it is done, so f and n are those of call gen.
		j.f(c, c*j.n/w, (c+1)*j.n/w)
		if j.pending.Add(-1) == 0 {
			j.done <- struct{}{}
		}
	}
}

var (
	jobPool     = sync.Pool{New: func() any { return &pfJob{done: make(chan struct{}, 1)} }}
	helperQueue = make(chan pfTicket, 256)
	helpersMu   sync.Mutex
	helpers     atomic.Int32
)

// ensureHelpers starts helper goroutines until there are at least k. Helpers live as
// long as the process, parked on the queue when there is no work.
func ensureHelpers(k int) {
	if int(helpers.Load()) >= k {
		return
	}
	helpersMu.Lock()
	defer helpersMu.Unlock()
	for int(helpers.Load()) < k {
		helpers.Add(1)
		go func() {
			for t := range helperQueue {
				t.j.run(t.gen)
			}
		}()
	}
}

// runtimeWorkers returns the most chunks parallelFor ever uses.
func runtimeWorkers() int { return runtime.GOMAXPROCS(0) }

// workers returns how many chunks parallelFor uses for n items.
func workers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0), 0xffff))
}
