package ops

import "testing"

func TestParseShape(t *testing.T) {
	good := map[string]Shape{"224x224x3": {3, 224, 224}, "28X28x1": {1, 28, 28}, " 32x16x3 ": {3, 32, 16}}
	for in, want := range good {
		got, err := ParseShape(in)
		if err != nil || got != want {
			t.Errorf("ParseShape(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParseShape(got.String()); back != got {
			t.Errorf("ParseShape(%q.String()) = %v, want %v", in, back, got)
		}
	}
	for _, in := range []string{"", "224x224", "0x4x4", "-1x2x3", "axbxc", "2x2x2x2", "1.5x2x3"} {
		if got, err := ParseShape(in); err == nil {
			t.Errorf("ParseShape(%q) = %v, want an error", in, got)
		}
	}
}
