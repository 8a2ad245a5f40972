// Package screen paints the scenes of package ui with ebiten and turns taps
// (touch on the device, mouse clicks under X) into intents. It holds no
// state that matters: everything it shows comes from the daemon's snapshot.
//
// Importing this package needs an X display (ebiten opens GLFW at init).
package screen

import (
	"image"
	"image/color"
	"math"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"roomkiosk/kiosk/ui"
)

// Painter paints scenes. Text lines are rasterised once with the fonts of
// package ui (so what is drawn is exactly what was measured) and kept as
// images while they stay on screen.
type Painter struct {
	fonts *ui.Fonts
	cache map[textKey]*textImage
	white *ebiten.Image
}

type textKey struct {
	text  string
	size  float64
	bold  bool
	color color.RGBA
}

type textImage struct {
	img    *ebiten.Image
	ascent int // pixels from the image's top to the baseline
	used   bool
}

const pad = 2 // pixels around a rasterised line, for glyphs that overhang

// NewPainter returns a painter using fonts.
func NewPainter(fonts *ui.Fonts) *Painter {
	return &Painter{fonts: fonts, cache: map[textKey]*textImage{}}
}

// Paint draws the whole scene on dst, which has the scene's logical size.
func (p *Painter) Paint(dst *ebiten.Image, sc *ui.Scene) {
	if p.white == nil {
		w := ebiten.NewImage(3, 3)
		w.Fill(color.White)
		p.white = w.SubImage(image.Rect(1, 1, 2, 2)).(*ebiten.Image)
	}
	for _, t := range p.cache {
		t.used = false
	}
	for i := range sc.Elements {
		p.element(dst, &sc.Elements[i])
	}
	// Free the lines no longer shown: the kiosk runs for weeks.
	for k, t := range p.cache {
		if !t.used {
			t.img.Deallocate()
			delete(p.cache, k)
		}
	}
}

func (p *Painter) element(dst *ebiten.Image, e *ui.Element) {
	r := e.Rect
	switch e.Kind {
	case ui.KindFill:
		if e.Radius <= 0 {
			vector.DrawFilledRect(dst, f32(r.X), f32(r.Y), f32(r.W), f32(r.H), e.Color, false)
			return
		}
		var path vector.Path
		roundRect(&path, r, e.Radius)
		p.fillPath(dst, &path, e.Color)
	case ui.KindStroke:
		var path vector.Path
		half := e.Width / 2
		roundRect(&path, ui.R(r.X+half, r.Y+half, r.W-e.Width, r.H-e.Width), math.Max(e.Radius-half, 0))
		p.strokePath(dst, &path, e.Color, e.Width)
	case ui.KindCircle:
		vector.DrawFilledCircle(dst, f32(r.X+r.W/2), f32(r.Y+r.H/2), f32(r.W/2), e.Color, true)
	case ui.KindRing:
		vector.StrokeCircle(dst, f32(r.X+r.W/2), f32(r.Y+r.H/2), f32(r.W/2-e.Width/2), f32(e.Width), e.Color, true)
	case ui.KindPath:
		if len(e.Points) < 2 {
			return
		}
		var path vector.Path
		path.MoveTo(f32(e.Points[0].X), f32(e.Points[0].Y))
		for _, pt := range e.Points[1:] {
			path.LineTo(f32(pt.X), f32(pt.Y))
		}
		if e.Width == 0 {
			path.Close()
			p.fillPath(dst, &path, e.Color)
		} else {
			p.strokePath(dst, &path, e.Color, e.Width)
		}
	case ui.KindText:
		p.text(dst, e)
	}
}

func (p *Painter) text(dst *ebiten.Image, e *ui.Element) {
	if e.Text == "" {
		return
	}
	k := textKey{e.Text, e.Size, e.Bold, e.Color}
	t, ok := p.cache[k]
	if !ok {
		t = p.rasterise(k)
		p.cache[k] = t
	}
	t.used = true
	target := dst
	if e.Clipped {
		c := e.Clip
		target = dst.SubImage(image.Rect(int(c.X), int(c.Y), int(math.Ceil(c.X+c.W)), int(math.Ceil(c.Y+c.H)))).(*ebiten.Image)
	}
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Translate(math.Round(e.X)-pad, math.Round(e.Y)-float64(t.ascent))
	target.DrawImage(t.img, op)
}

func (p *Painter) rasterise(k textKey) *textImage {
	face := p.fonts.Face(k.size, k.bold)
	m := face.Metrics()
	asc := m.Ascent.Ceil() + pad
	h := asc + m.Descent.Ceil() + pad
	w := font.MeasureString(face, k.text).Ceil() + 2*pad
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: rgba, Src: image.NewUniform(k.color), Face: face, Dot: fixed.P(pad, asc)}
	d.DrawString(k.text)
	return &textImage{img: ebiten.NewImageFromImage(rgba), ascent: asc}
}

func (p *Painter) fillPath(dst *ebiten.Image, path *vector.Path, c color.RGBA) {
	vs, is := path.AppendVerticesAndIndicesForFilling(nil, nil)
	p.drawVertices(dst, vs, is, c)
}

func (p *Painter) strokePath(dst *ebiten.Image, path *vector.Path, c color.RGBA, width float64) {
	vs, is := path.AppendVerticesAndIndicesForStroke(nil, nil, &vector.StrokeOptions{
		Width: f32(width), LineJoin: vector.LineJoinRound, LineCap: vector.LineCapRound,
	})
	p.drawVertices(dst, vs, is, c)
}

func (p *Painter) drawVertices(dst *ebiten.Image, vs []ebiten.Vertex, is []uint16, c color.RGBA) {
	cr, cg, cb, ca := float32(c.R)/255, float32(c.G)/255, float32(c.B)/255, float32(c.A)/255
	for i := range vs {
		vs[i].SrcX, vs[i].SrcY = 1, 1
		vs[i].ColorR, vs[i].ColorG, vs[i].ColorB, vs[i].ColorA = cr, cg, cb, ca
	}
	dst.DrawTriangles(vs, is, p.white, &ebiten.DrawTrianglesOptions{AntiAlias: true, FillRule: ebiten.FillRuleNonZero})
}

// roundRect adds a rounded rectangle to path.
func roundRect(path *vector.Path, r ui.Rect, radius float64) {
	radius = math.Min(radius, math.Min(r.W, r.H)/2)
	x0, y0, x1, y1, rd := f32(r.X), f32(r.Y), f32(r.X+r.W), f32(r.Y+r.H), f32(radius)
	path.MoveTo(x0+rd, y0)
	path.LineTo(x1-rd, y0)
	path.ArcTo(x1, y0, x1, y0+rd, rd)
	path.LineTo(x1, y1-rd)
	path.ArcTo(x1, y1, x1-rd, y1, rd)
	path.LineTo(x0+rd, y1)
	path.ArcTo(x0, y1, x0, y1-rd, rd)
	path.LineTo(x0, y0+rd)
	path.ArcTo(x0, y0, x0+rd, y0, rd)
	path.Close()
}

func f32(v float64) float32 { return float32(v) }
