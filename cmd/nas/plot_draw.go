package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"nas/store"
)

// Colours from Okabe and Ito's palette, which stays distinguishable under the
// common forms of colour blindness ("Color Universal Design", 2008).
var (
	colCandidate = color.NRGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xB0} // blue, translucent so that piles show
	colFront     = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF} // vermillion
	colRef       = color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF} // bluish green
	colOther     = color.NRGBA{R: 0x99, G: 0x99, B: 0x99, A: 0x90} // grey
	colBudget    = color.NRGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xFF}
)

// figure is a plot ready to render.
type figure struct{ p *plot.Plot }

// render draws f, w by h, to out as a PNG at dpi dots per inch or as an SVG.
func (f figure) render(out io.Writer, format string, w, h vg.Length, dpi int) error {
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))}
	case "svg":
		c = vgsvg.New(w, h)
	default:
		return fmt.Errorf("unknown image format %q", format)
	}
	f.p.Draw(draw.New(c))
	_, err := c.WriteTo(out)
	return err
}

// frontFigure draws proxy accuracy against MACs: every finished candidate, the
// feasible front as a step line carried on to the budget (so the area under it is
// what the search's hypervolume measures), the budget, and the reference networks.
func frontFigure(d *frontData) (figure, error) {
	p := plot.New()
	r := d.run
	p.Title.Text = fmt.Sprintf("%s: %s on %s, budget %s MACs\nfront at %s", r.Name, r.Strategy, r.Dataset,
		shortCount(float64(r.BudgetMACs)), d.fidelity)
	p.X.Label.Text = "MACs at the target shape (log scale)"
	p.Y.Label.Text = "proxy validation accuracy (%)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = macsTicks{}
	p.Add(plotter.NewGrid())

	// The ranges cover every point drawn, and the budget.
	xlo, xhi := float64(r.BudgetMACs), float64(r.BudgetMACs)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	extend := func(macs int64, acc float64) {
		xlo, xhi = min(xlo, float64(macs)), max(xhi, float64(macs))
		ylo, yhi = min(ylo, 100*acc), max(yhi, 100*acc)
	}
	for _, cs := range [][]store.Candidate{d.points, d.others} {
		for _, c := range cs {
			extend(c.MACs, c.Accuracy)
		}
	}
	for _, ref := range d.refs {
		extend(ref.MACs, ref.Accuracy)
	}
	span := yhi - ylo
	if span < 1 {
		span = 1 // one percentage point, so that a flat run still has a readable axis
	}
	// Room above the data for the legend, which sits in the top-left corner: the
	// corner of cheap and accurate networks, empty when there is a front at all.
	p.Y.Min, p.Y.Max = ylo-0.05*span, yhi+0.4*span
	// A quarter of a decade of margin on either side of the log axis.
	p.X.Min, p.X.Max = xlo/math.Pow(10, 0.25), xhi*math.Pow(10, 0.25)

	if len(d.others) > 0 {
		s, err := plotter.NewScatter(candidateXYs(d.others))
		if err != nil {
			return figure{}, err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Radius: vg.Points(2), Color: colOther}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("at other fidelities (%d)", len(d.others)), s)
	}
	if len(d.points) > 0 {
		s, err := plotter.NewScatter(candidateXYs(d.points))
		if err != nil {
			return figure{}, err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(2.2), Color: colCandidate}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("candidates (%d)", len(d.points)), s)
	}

	budget, err := plotter.NewLine(plotter.XYs{{X: float64(r.BudgetMACs), Y: p.Y.Min}, {X: float64(r.BudgetMACs), Y: p.Y.Max}})
	if err != nil {
		return figure{}, err
	}
	budget.LineStyle = draw.LineStyle{Color: colBudget, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	p.Add(budget)
	// The label hangs left of the line's top, inside the plot.
	bl, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    plotter.XYs{{X: float64(r.BudgetMACs), Y: p.Y.Max - 0.01*(p.Y.Max-p.Y.Min)}},
		Labels: []string{"budget " + shortCount(float64(r.BudgetMACs))},
	})
	if err != nil {
		return figure{}, err
	}
	bl.TextStyle[0].XAlign, bl.TextStyle[0].YAlign = text.XRight, text.YTop
	bl.Offset = vg.Point{X: -vg.Points(3)}
	p.Add(bl)
	p.Legend.Add("budget", budget)

	if len(d.front) > 0 {
		xys := candidateXYs(d.front)
		// Carry the last step on to the budget: any network of at most the budget
		// can have the front's best accuracy.
		if last := d.front[len(d.front)-1]; last.MACs < r.BudgetMACs {
			xys = append(xys, plotter.XY{X: float64(r.BudgetMACs), Y: 100 * last.Accuracy})
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return figure{}, err
		}
		line.StepStyle = plotter.PostStep
		line.LineStyle = draw.LineStyle{Color: colFront, Width: vg.Points(1.5)}
		pts, err := plotter.NewScatter(candidateXYs(d.front))
		if err != nil {
			return figure{}, err
		}
		pts.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(3), Color: colFront}
		p.Add(line, pts)
		p.Legend.Add(fmt.Sprintf("Pareto front (%d)", len(d.front)), line, pts)
	}

	if len(d.refs) > 0 {
		xys := make(plotter.XYs, len(d.refs))
		names := make([]string, len(d.refs))
		for i, ref := range d.refs {
			xys[i] = plotter.XY{X: float64(ref.MACs), Y: 100 * ref.Accuracy}
			names[i] = ref.Name
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return figure{}, err
		}
		s.GlyphStyle = draw.GlyphStyle{Shape: draw.PyramidGlyph{}, Radius: vg.Points(3.5), Color: colRef}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: names})
		if err != nil {
			return figure{}, err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Color = colRef
			labels.TextStyle[i].YAlign = refLabelAlign(d.refs, i)
		}
		labels.Offset = vg.Point{X: vg.Points(6)}
		useSans(nil, labels)
		p.Add(s, labels)
		p.Legend.Add("reference networks", s)
	}

	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	useSans(p, bl)
	return figure{p}, nil
}

// refLabelAlign places reference i's label beside its point, or, when another
// reference lies close by (within 3 accuracy points and a factor 1.5 in MACs), above
// the point for the more accurate of the two and below it for the other, so that
// the labels do not overprint each other.
func refLabelAlign(refs []refPoint, i int) text.YAlignment {
	for j, o := range refs {
		if j == i {
			continue
		}
		ratio := float64(refs[i].MACs) / float64(max(1, o.MACs))
		if math.Abs(refs[i].Accuracy-o.Accuracy) < 0.03 && ratio < 1.5 && ratio > 1/1.5 {
			if refs[i].Accuracy > o.Accuracy || (refs[i].Accuracy == o.Accuracy && i < j) {
				return text.YBottom
			}
			return text.YTop
		}
	}
	return text.YCenter
}

// useSans sets every text of p and of ls in Liberation Sans, which reads better
// than gonum/plot's default serif at figure sizes. p may be nil.
func useSans(p *plot.Plot, ls ...*plotter.Labels) {
	const variant = "Sans"
	if p != nil {
		for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
			&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
			st.Font.Variant = variant
		}
		p.Legend.TextStyle.Font.Size = vg.Points(10) // as the tick labels; the default 12pt crowds the data
	}
	for _, l := range ls {
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Variant = variant
		}
	}
}

// candidateXYs returns (MACs, accuracy in percent) of cs.
func candidateXYs(cs []store.Candidate) plotter.XYs {
	xys := make(plotter.XYs, len(cs))
	for i, c := range cs {
		xys[i] = plotter.XY{X: float64(c.MACs), Y: 100 * c.Accuracy}
	}
	return xys
}

// hypervolumeFigure draws the hypervolume of a run's front after each generation.
func hypervolumeFigure(r *store.Run, hv []hvPoint) (figure, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s on %s, budget %s MACs\nhypervolume of the front per generation", r.Name, r.Strategy,
		r.Dataset, shortCount(float64(r.BudgetMACs)))
	p.X.Label.Text = "generation"
	p.Y.Label.Text = "hypervolume (MACs/budget × accuracy)"
	p.X.Tick.Marker = intTicks{}
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, len(hv))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, h := range hv {
		xys[i] = plotter.XY{X: float64(h.Generation), Y: h.Hypervolume}
		lo, hi = min(lo, h.Hypervolume), max(hi, h.Hypervolume)
	}
	line, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return figure{}, fmt.Errorf("hypervolume: %w", err)
	}
	line.LineStyle = draw.LineStyle{Color: colCandidate, Width: vg.Points(1.5)}
	pts.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(2.5), Color: colCandidate}
	p.Add(line, pts)
	span := hi - lo
	if span < 1e-3 {
		span = 1e-3 // a flat curve still gets an axis a thousandth of the unit square tall
	}
	p.Y.Min, p.Y.Max = max(0, lo-0.1*span), hi+0.1*span
	p.X.Min, p.X.Max = float64(hv[0].Generation)-0.5, float64(hv[len(hv)-1].Generation)+0.5
	useSans(p)
	return figure{p}, nil
}

// macsTicks marks a log-scaled MACs axis at 1, 2 and 5 times each power of ten
// (only at the powers when the axis spans more than three decades), labelled in
// short units such as 20M, with unlabelled minor ticks at the other multiples.
type macsTicks struct{}

var _ plot.Ticker = macsTicks{}

// Ticks implements plot.Ticker.
func (macsTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	major := func(m int) bool { return m == 1 || m == 2 || m == 5 }
	if math.Log10(hi/lo) > 3 {
		major = func(m int) bool { return m == 1 }
	}
	var ticks []plot.Tick
	labelled := 0
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if major(m) {
				t.Label = shortCount(v)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	// A narrow axis may hold fewer than two of those: then label every tick.
	if labelled < 2 {
		for i := range ticks {
			ticks[i].Label = shortCount(ticks[i].Value)
		}
	}
	return ticks
}

// intTicks marks whole numbers only, for an axis of generations: every 1, 2, 5,
// 10, 20, ... generations, the smallest step that gives at most ten ticks.
type intTicks struct{}

var _ plot.Ticker = intTicks{}

// Ticks implements plot.Ticker.
func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for i := 0; (hi-lo)/step > 10; i++ {
		step *= []float64{2, 2.5, 2}[i%3] // 1, 2, 5, 10, 20, 50, ...
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		if v == 0 {
			v = 0 // not -0, which prints with a sign
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

// shortCount formats a count with three significant digits and a k, M or G
// suffix, as axis labels want: 20M, 1.5G.
func shortCount(v float64) string {
	unit := ""
	for _, u := range []struct {
		scale float64
		name  string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		// From 999.5 of a unit up, three digits round to 1 of the next.
		if v >= 0.9995*u.scale {
			v, unit = v/u.scale, u.name
			break
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + unit
}
