package ops

import (
	"strings"
	"time"
)

// LayerTime is the wall time that one layer, or a batch norm and the layers fused
// into it, took in the passes a Network timed (see Network.TimeLayers). Path and
// Kind name the first layer of the run as Network.Layers does; Kind adds the fused
// layers ("BatchNorm2D+ReLU6"). A convolution's time includes the batch-norm work
// fused into it (normalizing its input, the statistics of its output and their
// gradients, fast_fuse.go). Runs of a Residual's shortcut sum have the Residual's
// path and the kind "residual sum".
type LayerTime struct {
	Path, Kind        string
	Forward, Backward time.Duration
}

// layerClock collects the LayerTimes of one network, in the order the runs first
// ran.
type layerClock struct {
	rows  []LayerTime
	index map[string]int
}

// add adds d to the forward or backward time of the run named path and kind.
func (c *layerClock) add(path, kind string, backward bool, d time.Duration) {
	key := path + "\x00" + kind
	i, ok := c.index[key]
	if !ok {
		i = len(c.rows)
		c.index[key] = i
		c.rows = append(c.rows, LayerTime{Path: path, Kind: kind})
	}
	if backward {
		c.rows[i].Backward += d
	} else {
		c.rows[i].Forward += d
	}
}

// timed is implemented by the containers that time their runs when a clock is set:
// the Sequential times each of its runs but those of layers that hold a Sequential
// (whose own runs are timed), and the Residual its shortcut sum.
type timed interface {
	setClock(c *layerClock, path string, leaf func(Layer) bool)
}

var (
	_ timed = (*Sequential)(nil)
	_ timed = (*Residual)(nil)
)

func (s *Sequential) setClock(c *layerClock, path string, leaf func(Layer) bool) {
	s.clock, s.path, s.leaf = c, path, leaf
}

func (r *Residual) setClock(c *layerClock, path string, _ func(Layer) bool) {
	r.clock, r.path = c, path
}

// runKind names a run of count layers from i of s.
func (s *Sequential) runKind(i, count int) string {
	kinds := make([]string, 0, count)
	for _, l := range s.Layers[i : i+count] {
		kinds = append(kinds, describe(l))
	}
	return strings.Join(kinds, "+")
}

// start returns the time now when c is timing, and the zero time otherwise, so
// that untimed passes read no clock.
func (c *layerClock) start() time.Time {
	if c == nil {
		return time.Time{}
	}
	return time.Now()
}

// clockStart is start for the sequence's clock.
func (s *Sequential) clockStart() time.Time { return s.clock.start() }

// timeRun records the run of count layers from i, started at t0, if the sequence
// is timed and the run's first layer is a leaf for timing.
func (s *Sequential) timeRun(i, count int, backward bool, t0 time.Time) {
	if s.clock == nil || !s.leaf(s.Layers[i]) {
		return
	}
	s.clock.add(joinPath(s.path, itoa(i)), s.runKind(i, count), backward, time.Since(t0))
}

// TimeLayers turns timing of each layer's passes on or off; turning it on clears
// the times collected so far. Timing costs two clock readings per run and pass; off,
// it costs none. A Residual's shortcut and post layers, and any other container's
// work between its children, are not timed.
func (n *Network) TimeLayers(on bool) {
	var c *layerClock
	if on {
		c = &layerClock{index: map[string]int{}}
	}
	n.clock = c
	// A layer is timed by the Sequential that runs it unless a Sequential inside it
	// times its parts.
	holdsSeq := map[Layer]bool{}
	Walk(n.root, func(_ string, l Layer) {
		Walk(l, func(p string, m Layer) {
			if _, ok := m.(*Sequential); ok && p != "" {
				holdsSeq[l] = true
			}
		})
	})
	leaf := func(l Layer) bool {
		_, seq := l.(*Sequential)
		return !seq && !holdsSeq[l]
	}
	Walk(n.root, func(p string, l Layer) {
		if t, ok := l.(timed); ok {
			t.setClock(c, p, leaf)
		}
	})
}

// LayerTimes returns the times collected since TimeLayers(true), one row per run
// in the order the runs first ran, or nil when timing is off.
func (n *Network) LayerTimes() []LayerTime {
	if n.clock == nil {
		return nil
	}
	return append([]LayerTime(nil), n.clock.rows...)
}
