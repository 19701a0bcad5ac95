package main

import (
	"fmt"
	"image/color"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// colors of the patterns, by pattern.
var colors = map[string]color.Color{
	patternSeed:   color.RGBA{R: 200, G: 60, B: 40, A: 255},
	patternExt:    color.RGBA{R: 30, G: 110, B: 200, A: 255},
	patternExt429: color.RGBA{R: 120, G: 170, B: 230, A: 255},
	patternSDK:    color.RGBA{R: 40, G: 150, B: 70, A: 255},
}

// chartFrom is where the chart's time axis, logarithmic, starts: seconds.
const chartFrom = 0.1

// drawChart draws, for each tier, the share of the environments that
// have their values against simulated time since the storm began, one
// line a pattern, at the largest M and at N = s.chartItems.
func drawChart(s settings, results []result) error {
	m := slices.Max(s.envs)
	var row []*plot.Plot
	for _, tn := range s.tiers {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: M = %d, N = %d", tn, m, s.chartItems)
		p.X.Label.Text = "simulated seconds since the first environment started"
		p.Y.Label.Text = "environments with their values (%)"
		p.Y.Min, p.Y.Max = 0, 100
		p.Legend.Top, p.Legend.Left = false, false
		p.Add(plotter.NewGrid())
		for _, r := range results {
			if r.tier != tn || r.m != m || r.n != s.chartItems {
				continue
			}
			pts := plotter.XYs{{X: chartFrom, Y: 0}}
			for i, t := range r.doneAt {
				pts = append(pts, plotter.XY{X: max(chartFrom, t.Seconds()), Y: 100 * float64(i+1) / float64(r.m)})
			}
			pts = append(pts, plotter.XY{X: s.horizon.Seconds(), Y: 100 * float64(len(r.doneAt)) / float64(r.m)})
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.StepStyle = plotter.PostStep
			l.Color = colors[r.pattern]
			l.Width = vg.Points(2)
			p.Add(l)
			p.Legend.Add(r.pattern, l)
		}
		p.X.Scale = plot.LogScale{}
		p.X.Min = chartFrom
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		row = append(row, p)
	}
	const w, h = 8 * vg.Inch, 4.5 * vg.Inch
	img := vgimg.New(w, vg.Length(len(row))*h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(row), Cols: 1, PadY: vg.Points(12), PadX: vg.Points(8), PadTop: vg.Points(8), PadBottom: vg.Points(8)}
	plots := make([][]*plot.Plot, len(row))
	for i, p := range row {
		plots[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(plots, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(s.chart)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
