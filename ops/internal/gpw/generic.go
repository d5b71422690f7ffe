package gpw

// applyGeneric is the pure-Go twin of applyAVX512.
func applyGeneric(dst []float32, ldd int, ap, src []float32, lds, m, k, n int) {
	var acc [TileRows]float32
	for t := 0; t*TileRows < m; t++ {
		blk := ap[t*TileRows*k:]
		rows := min(TileRows, m-t*TileRows)
		for j := 0; j < n; j++ {
			acc = [TileRows]float32{}
			for c := 0; c < k; c++ {
				x := src[c*lds+j]
				for r := range acc {
					acc[r] += blk[c*TileRows+r] * x
				}
			}
			for r := 0; r < rows; r++ {
				dst[(t*TileRows+r)*ldd+j] = acc[r]
			}
		}
	}
}

// wgradGeneric is the pure-Go twin of wgradAVX512: one tile of at most TileRows rows
// of a (ra of them) by TileCols rows of b (rb), rows past ra and rb repeating the
// last one.
func wgradGeneric(t, a []float32, lda, ra int, b []float32, ldb, rb, n int) {
	for r := 0; r < TileRows; r++ {
		ar := a[min(r, ra-1)*lda:]
		for c := 0; c < TileCols; c++ {
			br := b[min(c, rb-1)*ldb:]
			lanes := t[(r*TileCols+c)*Lanes:][:Lanes]
			for j := 0; j < n; j++ {
				lanes[j%Lanes] += ar[j] * br[j]
			}
		}
	}
}
