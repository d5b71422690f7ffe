package zoo

import (
	"errors"
	"testing"

	"nas/ops"
)

// TestDGCResNet18Layout checks that dgc_resnet18 replaces the convolutions that
// hellozhuo/dgc's dynamic_resnet.py replaces: all but the stem, that is two per
// BasicBlock of the eight and the three 1x1 shortcuts of stages 2-4, each with the
// README's settings (4 heads, gate factor 0.45: In - round(In*0.55) channels kept),
// and that the stem is the only Conv2D left.
func TestDGCResNet18Layout(t *testing.T) {
	n, err := Build("dgc_resnet18", imagenet, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dgcs, convs int
	kernels := map[int]int{}
	ops.Walk(n.Root(), func(path string, l ops.Layer) {
		switch l := l.(type) {
		case *ops.DynamicGroupConv:
			dgcs++
			c := l.Config()
			kernels[c.KH]++
			// 64: 64 - round(35.2) = 29; 128: 128 - round(70.4) = 58; 256: 256 -
			// round(140.8) = 115; 512: 512 - round(281.6) = 230.
			want := map[int]int{64: 29, 128: 58, 256: 115, 512: 230}[c.In]
			if c.Heads != 4 || c.Keep != 0.45 || c.SqueezeRate != 16 || l.Kept() != want {
				t.Errorf("%s: %d heads, keep %v (%d of %d channels), squeeze %d; want 4, 0.45 (%d), 16",
					path, c.Heads, c.Keep, l.Kept(), c.In, c.SqueezeRate, want)
			}
		case *ops.Conv2D:
			convs++
		}
	})
	// Two 3x3 per BasicBlock of [2, 2, 2, 2], and the 1x1 shortcuts of stages 2-4.
	if dgcs != 19 || kernels[3] != 16 || kernels[1] != 3 || convs != 1 {
		t.Errorf("dgc_resnet18: %d dynamic convolutions (%d 3x3, %d 1x1) and %d Conv2D; want 19 (16, 3) and the stem",
			dgcs, kernels[3], kernels[1], convs)
	}
}

// TestDGCResNet18Options checks BuildWith's options on dgc_resnet18: proxy strides
// up to its five downsamplings (all five at stride 1 keep MNIST's 28x28 up to the
// pooling), no width multiplier.
func TestDGCResNet18Options(t *testing.T) {
	mnist := ops.Shape{C: 1, H: 28, W: 28}
	n, err := BuildWith("dgc_resnet18", Options{Input: mnist, Classes: 10, ProxyStrides: 5})
	if err != nil {
		t.Fatal(err)
	}
	rows := n.Layers()
	if pool := rows[len(rows)-2]; pool.In != (ops.Shape{C: 512, H: 28, W: 28}) {
		t.Errorf("dgc_resnet18 with 5 proxy strides: global pooling sees %v, want 28x28x512", pool.In)
	}
	for _, tt := range []struct {
		o  Options
		is error // the sentinel the error wraps, if any
	}{
		{Options{Input: mnist, Classes: 10, ProxyStrides: 6}, nil},
		{Options{Input: mnist, Classes: 10, Width: 0.5}, ErrUnsupported},
	} {
		_, err := BuildWith("dgc_resnet18", tt.o)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("BuildWith(dgc_resnet18, %+v) error %v, want an error (wrapping %v)", tt.o, err, tt.is)
		}
	}
}
