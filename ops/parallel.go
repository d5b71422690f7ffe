package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parallelFor splits [0, n) into at most GOMAXPROCS contiguous chunks and runs
// f(chunk, lo, hi) on each, concurrently, returning when all are done. The split
// depends only on n and the worker count, so work that reduces per chunk in chunk
// order is deterministic for a given GOMAXPROCS; chunk, in [0, workers(n)), names the
// chunk and may index per-worker scratch.
//
// The chunks are claimed one by one by the caller, from the first, and by long-lived
// helper goroutines, from the last (see run), so a call starts no goroutine and
// allocates nothing but what f's closure needs. A helper polls for the next call for a
// while before it parks (see helper), and the caller polls for the helpers' chunks to
// finish before it parks (awaitHelpers). The caller claims chunks too, and never waits
// for a chunk nobody has claimed: when the helpers are busy or not scheduled (on a
// loaded machine), the caller runs the chunks itself instead of waiting for them, and
// a parallelFor inside f cannot deadlock.
//
// Every chunk runs with denormal floats flushed to zero (see runFlushed).
func parallelFor(n int, f func(chunk, lo, hi int)) {
	w := workers(n)
	if w <= 1 {
		runFlushed(f, 0, 0, n)
		return
	}
	j := jobPool.Get().(*pfJob)
	j.f, j.n, j.w = f, n, int32(w)
	j.gen++
	j.pending.Store(int32(w))
	j.state.Store(j.gen<<32 | uint64(w))
	ensureHelpers(w - 1)
	for i := 1; i < w; i++ {
		select {
		case helperQueue <- pfTicket{j, j.gen}:
		default: // the queue is full: the caller runs the chunk
		}
	}
	j.run(j.gen, true)
	awaitHelpers(j)
	<-j.done
	j.f = nil
	jobPool.Put(j)
}

// pfJob is one parallelFor call's shared state. state packs the call's generation
// (high 32 bits) and the chunks still to claim, [lo, hi) as bits 16-31 and 0-15, so
// that a helper holding a ticket of an earlier call on a recycled job claims nothing.
type pfJob struct {
	f       func(chunk, lo, hi int)
	n       int
	w       int32
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

// run claims and runs chunks of call gen until none is left, the lowest first when
// front (the caller), else the highest first (the helpers). With two workers the
// caller then runs the first half of the items and the helper the second half in
// every call in which the helper is not late, instead of whichever half each won
// first, and the two never contend for the same chunk at the start of a call. On
// reference_net.py's training step at batch 128 that took 1.3-1.5% off a step in
// per-layer medians of 30-40 paired steps (the commit message has the figures).
func (j *pfJob) run(gen uint64, front bool) {
	for {
		v := j.state.Load()
		lo, hi := int(v>>16&0xffff), int(v&0xffff)
		if v>>32 != gen&0xffffffff || lo >= hi {
			return
		}
		c, next := lo, v+1<<16
		if !front {
			c, next = hi-1, v-1
		}
		if !j.state.CompareAndSwap(v, next) {
			continue
		}
		// The chunk is ours: the call cannot finish, nor the job be reused, before
		// it is done, so f, n and w are those of call gen.
		w := int(j.w)
		runFlushed(j.f, c, c*j.n/w, (c+1)*j.n/w)
		if j.pending.Add(-1) == 0 {
			j.done <- struct{}{}
		}
	}
}

// runFlushed runs f(chunk, lo, hi) with the thread's denormal floats flushed to
// zero (the flush-to-zero and denormals-are-zero bits of MXCSR on amd64, as
// TensorFlow sets them for its CPU threads), and restores the thread's setting
// after. Arithmetic on denormals takes microcode assists that cost about a hundred
// times an ordinary instruction: a network that has learned its batch, whose
// gradients then fall below 1e-38, trained 25-30 times slower (mobilenet_v2 at
// batch 1 on one repeated image: 52-67 ms a step until the loss reached 0, then 1.5
// s). Values that large and larger are unchanged, so are the results of every step
// that makes no denormal. The setting belongs to the thread, not the goroutine, so
// the chunk's goroutine stays locked to its thread meanwhile: preempted, it resumes
// there and restores the setting there, and no other goroutine runs on the thread
// with it.
func runFlushed(f func(chunk, lo, hi int), c, lo, hi int) {
	runtime.LockOSThread()
	m := flushDenormals()
	f(c, lo, hi)
	restoreMXCSR(m)
	runtime.UnlockOSThread()
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
		go helper()
	}
}

// helper runs the tickets of helperQueue. After each it polls the queue for up to
// helperSpin before it parks on it again. A training step calls parallelFor about a
// hundred times with microseconds between calls, and a goroutine parked on a channel
// took 150 microseconds on average to start on its ticket on the virtual machine
// this was measured on, time in which the caller ran the call's chunks alone. With
// the polling that wait fell to 45-70 microseconds on average, half of the calls
// under 2. With it and the caller's polling in awaitHelpers, a training step of
// reference_net at batch 128 took 5% less time (BenchmarkHelperPoll: on/off median
// 0.95 in twelve runs, between 0.88 and 1.01; median 0.98 with the helper's polling
// alone).
func helper() {
	for {
		t, ok := <-helperQueue
		for ok {
			t.j.run(t.gen, false)
			t, ok = pollQueue()
		}
	}
}

// helperSpin is how long a helper polls helperQueue, and a caller its job, before it
// parks.
const helperSpin = 500 * time.Microsecond

// pollQueue returns the next ticket of helperQueue and true, or false when none came
// within helperSpin.
func pollQueue() (t pfTicket, ok bool) {
	if !helperPoll.Load() {
		return t, false
	}
	ok = spin(func() bool {
		select {
		case t = <-helperQueue:
			return true
		default:
			return false
		}
	})
	return t, ok
}

// awaitHelpers polls, for up to helperSpin, until the chunks that helpers claimed of
// job j are done, so that the caller, having run its own chunks, does not park on
// j.done and then wait to be woken as a parked helper would (see helper). The
// caller still receives from j.done after it.
func awaitHelpers(j *pfJob) {
	if helperPoll.Load() {
		spin(func() bool { return j.pending.Load() == 0 })
	}
}

// spin calls ready until it reports true, for up to helperSpin, and reports whether
// it did. It yields its thread to other goroutines every 64 calls, so a goroutine
// that spins delays no other work by more than that.
func spin(ready func() bool) bool {
	var start time.Time
	for i := 0; !ready(); i++ {
		if i%64 == 63 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > helperSpin {
				return false
			}
			runtime.Gosched()
		}
	}
	return true
}

// helperPoll turns the polling of pollQueue and awaitHelpers on; BenchmarkHelperPoll
// switches it off to compare.
var helperPoll = func() *atomic.Bool { var b atomic.Bool; b.Store(true); return &b }()

// runtimeWorkers returns the most chunks parallelFor ever uses.
func runtimeWorkers() int { return runtime.GOMAXPROCS(0) }

// workers returns how many chunks parallelFor uses for n items.
func workers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0), 0xffff))
}
