package ops

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// checkCover runs parallelFor over n items and checks that every item is visited
// exactly once, by chunks that match the documented split.
func checkCover(t *testing.T, n int) {
	t.Helper()
	seen := make([]int32, n)
	var bad atomic.Int32
	w := workers(n)
	parallelFor(n, func(c, lo, hi int) {
		if c < 0 || c >= w || lo != c*n/w || hi != (c+1)*n/w {
			bad.Add(1)
		}
		for i := lo; i < hi; i++ {
			atomic.AddInt32(&seen[i], 1)
		}
	})
	if b := bad.Load(); b != 0 {
		t.Errorf("parallelFor(%d): %d chunks outside the split into %d", n, b, w)
	}
	for i, s := range seen {
		if s != 1 {
			t.Fatalf("parallelFor(%d): item %d visited %d times, want 1", n, i, s)
		}
	}
}

// TestParallelForCovers checks the split for sizes below, at and above the worker
// count, and with more workers than cores.
func TestParallelForCovers(t *testing.T) {
	for _, procs := range []int{1, 2, 5} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 7, 100} {
			checkCover(t, n)
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestParallelForNestedAndConcurrent runs parallelFor inside parallelFor from several
// goroutines at once: the caller claims chunks itself, so nothing waits on a helper
// that is busy with another call, and every call sees its own items (run with -race).
func TestParallelForNestedAndConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var sum atomic.Int64
				parallelFor(8, func(_, lo, hi int) {
					for i := lo; i < hi; i++ {
						parallelFor(10, func(_, a, b int) {
							for k := a; k < b; k++ {
								sum.Add(int64(i*10 + k))
							}
						})
					}
				})
				if got, want := sum.Load(), int64(79*80/2); got != want {
					t.Errorf("nested sum = %d, want %d", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestParallelForNoAllocs checks that a call whose function captures nothing
// allocates nothing: no goroutine, no wait group (the job comes from a pool).
func TestParallelForNoAllocs(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 procs to run in parallel")
	}
	if raceEnabled() {
		t.Skip("the race detector allocates")
	}
	f := func(_, lo, hi int) {}
	parallelFor(2, f)
	if a := testing.AllocsPerRun(100, func() { parallelFor(2, f) }); a != 0 {
		t.Errorf("parallelFor allocates %v times per call, want 0", a)
	}
}

// TestPfJobClaimOrder checks that the caller claims chunks from the first and the
// helpers from the last, that the two meet without running a chunk twice, and that
// a ticket of an earlier call claims nothing.
func TestPfJobClaimOrder(t *testing.T) {
	for _, w := range []int{2, 3, 5} {
		for split := 0; split <= w; split++ {
			j := &pfJob{done: make(chan struct{}, 1)}
			j.gen = 7
			var order []int
			j.f, j.n, j.w = func(c, lo, hi int) {
				order = append(order, c)
				if lo != c*100/w || hi != (c+1)*100/w {
					t.Errorf("w=%d: chunk %d ran [%d, %d)", w, c, lo, hi)
				}
				if len(order) == split {
					j.run(6, false) // a stale ticket: claims nothing
					j.run(7, false) // a helper takes the rest from the back
				}
			}, 100, int32(w)
			j.pending.Store(int32(w))
			j.state.Store(j.gen<<32 | uint64(w))
			if split == 0 {
				j.run(7, false)
			} else {
				j.run(7, true)
			}
			var want []int
			for c := 0; c < split; c++ {
				want = append(want, c)
			}
			for c := w - 1; c >= split; c-- {
				want = append(want, c)
			}
			if !slices.Equal(order, want) {
				t.Errorf("w=%d, caller first runs %d: chunks ran in the order %v, want %v", w, split, order, want)
			}
			if p := j.pending.Load(); p != 0 || len(j.done) != 1 {
				t.Errorf("w=%d: %d chunks pending and %d done signals after the call, want 0 and 1", w, p, len(j.done))
			}
		}
	}
}

// denormalOperands are the smallest positive denormal float32 and 1, in a variable
// so that their product is computed at run time.
var denormalOperands = []float32{math.Float32frombits(1), 1}

// TestParallelForFlushesDenormals checks that chunks run with denormals flushed to
// zero on amd64, on one worker and on several, and that the caller's thread gets its
// setting back.
func TestParallelForFlushesDenormals(t *testing.T) {
	for _, n := range []int{1, 8} {
		out := make([]float32, n)
		parallelFor(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				out[i] = denormalOperands[0] * denormalOperands[1]
			}
		})
		for i, v := range out {
			if runtime.GOARCH == "amd64" && v != 0 {
				t.Errorf("%d items: item %d computed %g in a chunk, want 0 (flushed)", n, i, v)
			}
		}
	}
	if v := denormalOperands[0] * denormalOperands[1]; v == 0 {
		t.Errorf("after parallelFor the caller computes %g, want the denormal %g", v, denormalOperands[0])
	}
}
