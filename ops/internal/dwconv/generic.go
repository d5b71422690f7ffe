package dwconv

// convGeneric is the pure-Go twin of convAVX512.
func convGeneric(p *Plan, dst, src, w []float32, bias float32, accumulate bool) {
	var acc [16]float32
	for b := 0; b < p.blocks; b++ {
		for j := range acc {
			acc[j] = bias
		}
		for t, o := range p.off {
			m, wt := p.mask[t*p.blocks+b], w[t]
			base := 16*b + int(o)
			for j := range acc {
				if m>>j&1 != 0 {
					acc[j] += wt * src[base+j]
				}
			}
		}
		sm := p.store[b]
		for j := range acc {
			if sm>>j&1 == 0 {
				continue
			}
			if accumulate {
				dst[16*b+j] += acc[j]
			} else {
				dst[16*b+j] = acc[j]
			}
		}
	}
}

// wgradGeneric is the pure-Go twin of wgradAVX512.
func wgradGeneric(p *Plan, dw, src, dy []float32) {
	for t, o := range p.off {
		var acc [16]float32
		for b := 0; b < p.blocks; b++ {
			m := p.mask[t*p.blocks+b]
			base := 16*b + int(o)
			for j := range acc {
				if m>>j&1 != 0 {
					acc[j] += dy[16*b+j] * src[base+j]
				}
			}
		}
		var s float32
		for _, v := range acc {
			s += v
		}
		dw[t] += s
	}
}

// deinterleaveGeneric is the pure-Go twin of deinterleaveAVX512; it writes the
// even-row phases fully and the odd-row phases for the rows that exist.
func deinterleaveGeneric(dst, src []float32, h, w, rows, pitch int) {
	ps := rows * pitch
	for r := 0; r < h; r++ {
		row := src[r*w : (r+1)*w]
		e := dst[(r&1)*2*ps+(r>>1)*pitch:][:pitch]
		o := dst[(r&1)*2*ps+ps+(r>>1)*pitch:][:pitch]
		for c := range pitch {
			e[c], o[c] = 0, 0
			if 2*c < w {
				e[c] = row[2*c]
			}
			if 2*c+1 < w {
				o[c] = row[2*c+1]
			}
		}
	}
}

// interleaveGeneric is the pure-Go twin of interleaveAVX512.
func interleaveGeneric(dst, src []float32, h, w, rows, pitch int) {
	ps := rows * pitch
	for r := 0; r < h; r++ {
		row := dst[r*w : (r+1)*w]
		e := src[(r&1)*2*ps+(r>>1)*pitch:][:pitch]
		o := src[(r&1)*2*ps+ps+(r>>1)*pitch:][:pitch]
		for c := range row {
			if c&1 == 0 {
				row[c] = e[c>>1]
			} else {
				row[c] = o[c>>1]
			}
		}
	}
}
