package ops

import (
	"fmt"
	"testing"

	"nas/ops/internal/gpw"
)

// TestPointwiseGpwMatchesPyTorch compares the gpw pointwise kernels (pwSamples 0,
// where gpwApplies holds on AVX-512 machines) and the per-sample Sgemm kernels
// (pwSamples 1) with F.conv2d in testdata/gen/gen_conv_pointwise_gpw.py.
func TestPointwiseGpwMatchesPyTorch(t *testing.T) {
	fs := loadFixtures(t, "pwgpw_")
	if len(fs) == 0 {
		t.Fatal("no pwgpw_ fixtures")
	}
	for _, f := range fs {
		_, in, err := ShapeOf(f.tensor(t, "x"))
		if err != nil {
			t.Fatal(err)
		}
		for _, samples := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/samples_%d", f.name, samples), func(t *testing.T) {
				checkPointwiseFixture(t, f, samples, func(l *Conv2D) {
					if got, want := l.gpwApplies(in.H*in.W), samples == 0 && gpw.Accelerated(); got != want {
						t.Fatalf("gpwApplies(%d) = %v, want %v: the fixture does not test the kernel it is for", in.H*in.W, got, want)
					}
				})
			})
		}
	}
}

// TestGpwSwap checks that the weight gradient is taken in the orientation with fewer
// tiles of gpw.TileRows x gpw.TileCols: 6 x 24 needs one row of six tiles, 24 x 6
// four rows of two.
func TestGpwSwap(t *testing.T) {
	tests := []struct {
		cig, cog int
		want     bool
	}{
		{6, 24, true},   // X dY^T: 1 x 6 tiles rather than dY X^T's 4 x 2
		{24, 6, false},  // dY X^T: 1 x 6 tiles
		{12, 48, false}, // 8 x 3 against 2 x 12: a tie keeps dY X^T
		{8, 8, false},
	}
	for _, tt := range tests {
		if got := gpwSwap(tt.cig, tt.cog); got != tt.want {
			t.Errorf("gpwSwap(%d, %d) = %v, want %v", tt.cig, tt.cog, got, tt.want)
		}
	}
}
