// Package screen paints the scenes of package ui with ebiten and turns taps
// (touch on the device, mouse clicks under X) into intents. It holds no
// state that matters: everything it shows comes from the daemon's snapshot.
//
// Importing this package needs an X display (ebiten opens GLFW at init).
package screen

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
	"golang.org/x/image/math/fixed"
	xvector "golang.org/x/image/vector"

	"roomkiosk/kiosk/ui"
)

// Painter paints scenes. Text lines are rasterised once with the fonts of
// package ui (so what is drawn is exactly what was measured) and kept as
// images while they stay on screen.
type Painter struct {
	fonts  *ui.Fonts
	cache  map[textKey]*textImage
	shapes map[shapeKey]*shapeImage
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
	return &Painter{fonts: fonts, cache: map[textKey]*textImage{}, shapes: map[shapeKey]*shapeImage{}}
}

// Paint draws the whole scene on dst, which has the scene's logical size.
func (p *Painter) Paint(dst *ebiten.Image, sc *ui.Scene) {
	for _, t := range p.cache {
		t.used = false
	}
	for _, sh := range p.shapes {
		sh.used = false
	}
	for i := range sc.Elements {
		p.element(dst, &sc.Elements[i])
	}
	// Free the lines and shapes no longer shown: the kiosk runs for weeks.
	for k, t := range p.cache {
		if !t.used {
			t.img.Deallocate()
			delete(p.cache, k)
		}
	}
	for k, sh := range p.shapes {
		if !sh.used {
			sh.img.Deallocate()
			delete(p.shapes, k)
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
		p.shape(dst, shapeKey{kind: ui.KindFill, w: iround(r.W), h: iround(r.H), radius: iround(e.Radius)}, r.X, r.Y, e.Color)
	case ui.KindStroke:
		p.shape(dst, shapeKey{kind: ui.KindStroke, w: iround(r.W), h: iround(r.H), radius: iround(e.Radius), width: iround(e.Width)}, r.X, r.Y, e.Color)
	case ui.KindCircle:
		p.shape(dst, shapeKey{kind: ui.KindCircle, w: iround(r.W), h: iround(r.W)}, r.X, r.Y, e.Color)
	case ui.KindRing:
		p.shape(dst, shapeKey{kind: ui.KindRing, w: iround(r.W), h: iround(r.W), width: iround(e.Width)}, r.X, r.Y, e.Color)
	case ui.KindPath:
		if len(e.Points) < 2 {
			return
		}
		// Paths are few and small (a tick, arrows): rasterise them whole,
		// relative to their bounding box.
		minX, minY := math.Inf(1), math.Inf(1)
		for _, pt := range e.Points {
			minX, minY = math.Min(minX, pt.X), math.Min(minY, pt.Y)
		}
		ox, oy := math.Floor(minX-e.Width), math.Floor(minY-e.Width)
		k := shapeKey{kind: ui.KindPath, width: iround(e.Width)}
		for _, pt := range e.Points {
			k.points += fmt.Sprintf("%.1f,%.1f;", pt.X-ox, pt.Y-oy)
		}
		p.shape(dst, k, ox, oy, e.Color)
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
	w := int(math.Ceil(p.fonts.Advance(k.text, k.size, k.bold))) + 2*pad
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	p.fonts.Draw(rgba, fixed.P(pad, asc), k.text, k.size, k.bold, k.color)
	return &textImage{img: ebiten.NewImageFromImage(rgba), ascent: asc}
}

// shapeKey names a rasterised shape mask. Masks are anti-aliased on the
// CPU once (golang.org/x/image/vector) and drawn tinted; ebiten's own
// anti-aliased triangles render the whole target at a higher resolution,
// which on a software renderer costs a hundred milliseconds a frame.
type shapeKey struct {
	kind          ui.Kind
	w, h          int
	radius, width int
	points        string // KindPath: the points, relative to the mask
}

type shapeImage struct {
	img  *ebiten.Image
	used bool
}

func (p *Painter) shape(dst *ebiten.Image, k shapeKey, x, y float64, c color.RGBA) {
	sh, ok := p.shapes[k]
	if !ok {
		m := rasteriseShape(k)
		if m == nil {
			return
		}
		sh = &shapeImage{img: ebiten.NewImageFromImage(m)}
		p.shapes[k] = sh
	}
	sh.used = true
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Translate(math.Round(x), math.Round(y))
	op.ColorScale.ScaleWithColor(c)
	dst.DrawImage(sh.img, op)
}

// rasteriseShape draws a shape's coverage into an alpha mask.
func rasteriseShape(k shapeKey) *image.Alpha {
	switch k.kind {
	case ui.KindFill:
		z := xvector.NewRasterizer(k.w, k.h)
		roundRectPath(z, 0, 0, float32(k.w), float32(k.h), float32(k.radius), false)
		return mask(z)
	case ui.KindStroke:
		z := xvector.NewRasterizer(k.w, k.h)
		wd := float32(k.width)
		roundRectPath(z, 0, 0, float32(k.w), float32(k.h), float32(k.radius), false)
		// The inner outline wound the other way cuts the hole.
		roundRectPath(z, wd, wd, float32(k.w)-wd, float32(k.h)-wd, float32(max(k.radius-k.width, 0)), true)
		return mask(z)
	case ui.KindCircle:
		z := xvector.NewRasterizer(k.w, k.w)
		d := float32(k.w)
		roundRectPath(z, 0, 0, d, d, d/2, false)
		return mask(z)
	case ui.KindRing:
		z := xvector.NewRasterizer(k.w, k.w)
		d, wd := float32(k.w), float32(k.width)
		roundRectPath(z, 0, 0, d, d, d/2, false)
		roundRectPath(z, wd, wd, d-wd, d-wd, d/2-wd, true)
		return mask(z)
	case ui.KindPath:
		var pts [][2]float32
		var maxX, maxY float32
		for _, s := range strings.Split(strings.TrimSuffix(k.points, ";"), ";") {
			var px, py float32
			if _, err := fmt.Sscanf(s, "%f,%f", &px, &py); err != nil {
				return nil
			}
			pts = append(pts, [2]float32{px, py})
			maxX, maxY = max(maxX, px), max(maxY, py)
		}
		w, h := int(maxX)+2*k.width+2, int(maxY)+2*k.width+2
		z := xvector.NewRasterizer(w, h)
		if k.width == 0 {
			z.MoveTo(pts[0][0], pts[0][1])
			for _, pt := range pts[1:] {
				z.LineTo(pt[0], pt[1])
			}
			z.ClosePath()
			return mask(z)
		}
		// A polyline: a quad per segment and a disc per joint.
		hw := float32(k.width) / 2
		for i := 0; i+1 < len(pts); i++ {
			a, b := pts[i], pts[i+1]
			dx, dy := b[0]-a[0], b[1]-a[1]
			l := float32(math.Hypot(float64(dx), float64(dy)))
			if l == 0 {
				continue
			}
			nx, ny := -dy/l*hw, dx/l*hw
			z.MoveTo(a[0]+nx, a[1]+ny)
			z.LineTo(b[0]+nx, b[1]+ny)
			z.LineTo(b[0]-nx, b[1]-ny)
			z.LineTo(a[0]-nx, a[1]-ny)
			z.ClosePath()
		}
		for _, pt := range pts {
			roundRectPath(z, pt[0]-hw, pt[1]-hw, pt[0]+hw, pt[1]+hw, hw, false)
		}
		return mask(z)
	}
	return nil
}

func mask(z *xvector.Rasterizer) *image.Alpha {
	m := image.NewAlpha(z.Bounds())
	z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	return m
}

// roundRectPath adds a rounded rectangle from (x0,y0) to (x1,y1), clockwise
// or, reversed, counter-clockwise. Corners are cubic quarter circles.
func roundRectPath(z *xvector.Rasterizer, x0, y0, x1, y1, r float32, reversed bool) {
	r = min(r, (x1-x0)/2, (y1-y0)/2)
	const k = 0.5523 // cubic Bézier handle length of a quarter circle
	c := r * k
	if !reversed {
		z.MoveTo(x0+r, y0)
		z.LineTo(x1-r, y0)
		z.CubeTo(x1-r+c, y0, x1, y0+r-c, x1, y0+r)
		z.LineTo(x1, y1-r)
		z.CubeTo(x1, y1-r+c, x1-r+c, y1, x1-r, y1)
		z.LineTo(x0+r, y1)
		z.CubeTo(x0+r-c, y1, x0, y1-r+c, x0, y1-r)
		z.LineTo(x0, y0+r)
		z.CubeTo(x0, y0+r-c, x0+r-c, y0, x0+r, y0)
	} else {
		z.MoveTo(x0+r, y0)
		z.CubeTo(x0+r-c, y0, x0, y0+r-c, x0, y0+r)
		z.LineTo(x0, y1-r)
		z.CubeTo(x0, y1-r+c, x0+r-c, y1, x0+r, y1)
		z.LineTo(x1-r, y1)
		z.CubeTo(x1-r+c, y1, x1, y1-r+c, x1, y1-r)
		z.LineTo(x1, y0+r)
		z.CubeTo(x1, y0+r-c, x1-r+c, y0, x1-r, y0)
	}
	z.ClosePath()
}

func iround(v float64) int { return int(math.Round(v)) }

func f32(v float64) float32 { return float32(v) }
