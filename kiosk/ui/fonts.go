package ui

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// DefaultCJKFont is where Debian's fonts-wqy-microhei package puts its font.
const DefaultCJKFont = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

// Fonts holds the Go fonts for Latin text and a system CJK font for Chinese,
// and hands out faces that fall back from the first to the second glyph by
// glyph. Faces are not safe for concurrent use: the screen measures and
// draws on one goroutine.
type Fonts struct {
	regular, bold, cjk *sfnt.Font

	mu    sync.Mutex
	faces map[faceKey]*fallbackFace
}

type faceKey struct {
	size int
	bold bool
}

// LoadFonts parses the Go fonts and the CJK font at cjkPath (a .ttf, .otf or
// .ttc; the first font of a collection is used).
func LoadFonts(cjkPath string) (*Fonts, error) {
	reg, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse go regular font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse go bold font: %w", err)
	}
	b, err := os.ReadFile(cjkPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load cjk font: %s is missing (install the Debian package fonts-wqy-microhei, or pass another CJK font file)", cjkPath)
	}
	if err != nil {
		return nil, fmt.Errorf("load cjk font %s: %w", cjkPath, err)
	}
	// x/image/font/sfnt insists that tables start on 4-byte boundaries, as
	// the OpenType spec says; wqy-microhei.ttc's do not. Copy the first
	// font out of the file with its tables realigned.
	b, err = extractAligned(b, 0)
	if err != nil {
		return nil, fmt.Errorf("parse cjk font %s: %w", cjkPath, err)
	}
	cjk, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("parse cjk font %s: %w", cjkPath, err)
	}
	return &Fonts{regular: reg, bold: bold, cjk: cjk, faces: map[faceKey]*fallbackFace{}}, nil
}

// extractAligned returns font index of a TrueType/OpenType file or
// collection as a standalone font whose tables each start on a 4-byte
// boundary. Table checksums are kept as they were (nothing here checks them).
func extractAligned(b []byte, index int) ([]byte, error) {
	u32 := func(o int) (uint32, error) {
		if o < 0 || o+4 > len(b) {
			return 0, errors.New("truncated font file")
		}
		return binary.BigEndian.Uint32(b[o:]), nil
	}
	base := 0
	if len(b) >= 12 && string(b[:4]) == "ttcf" {
		n, _ := u32(8)
		if uint32(index) >= n {
			return nil, fmt.Errorf("font collection has %d fonts, no index %d", n, index)
		}
		off, err := u32(12 + 4*index)
		if err != nil {
			return nil, err
		}
		base = int(off)
	}
	if base+12 > len(b) {
		return nil, errors.New("truncated font file")
	}
	numTables := int(binary.BigEndian.Uint16(b[base+4:]))
	dirLen := 12 + 16*numTables
	if base+dirLen > len(b) {
		return nil, errors.New("truncated table directory")
	}
	out := make([]byte, dirLen, len(b))
	copy(out, b[base:base+dirLen])
	for i := 0; i < numTables; i++ {
		rec := 12 + 16*i
		off := binary.BigEndian.Uint32(out[rec+8:])
		n := binary.BigEndian.Uint32(out[rec+12:])
		if uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("table %q lies outside the file", out[rec:rec+4])
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		binary.BigEndian.PutUint32(out[rec+8:], uint32(len(out)))
		out = append(out, b[off:off+n]...)
	}
	return out, nil
}

// Face returns the face for a pixel size (rounded to whole pixels, so the
// cache stays small) and weight.
func (f *Fonts) Face(size float64, bold bool) font.Face {
	return f.face(size, bold)
}

func (f *Fonts) face(size float64, bold bool) *fallbackFace {
	k := faceKey{int(size + 0.5), bold}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ff, ok := f.faces[k]; ok {
		return ff
	}
	primary := f.regular
	if bold {
		primary = f.bold
	}
	opts := &opentype.FaceOptions{Size: float64(k.size), DPI: 72, Hinting: font.HintingFull}
	p, err := opentype.NewFace(primary, opts)
	if err != nil {
		panic(fmt.Sprintf("ui: go font face at %dpx: %v", k.size, err)) // parsed fonts at a positive size do not fail
	}
	s, err := opentype.NewFace(f.cjk, opts)
	if err != nil {
		panic(fmt.Sprintf("ui: cjk font face at %dpx: %v", k.size, err))
	}
	ff := &fallbackFace{primary: p, secondary: s, pfont: primary}
	if bold && k.size >= 16 {
		ff.boldExtra = 1 + k.size/32
	}
	f.faces[k] = ff
	return ff
}

// fallbackFace draws a rune with the Go font when it has the glyph and with
// the CJK font otherwise, so Chinese text and mixed text ("PIN 码") both work.
type fallbackFace struct {
	primary, secondary font.Face
	pfont              *sfnt.Font
	buf                sfnt.Buffer
	boldExtra          int // faux bold for CJK glyphs: extra copies, one pixel apart
}

func (f *fallbackFace) pick(r rune) font.Face {
	if i, err := f.pfont.GlyphIndex(&f.buf, r); err == nil && i != 0 {
		return f.primary
	}
	return f.secondary
}

// onlyPrimary reports whether every rune of s is in the Go font.
func (f *fallbackFace) onlyPrimary(s string) bool {
	for _, r := range s {
		if f.pick(r) != f.primary {
			return false
		}
	}
	return true
}

func (f *fallbackFace) Close() error {
	return errors.Join(f.primary.Close(), f.secondary.Close())
}

func (f *fallbackFace) Glyph(dot fixed.Point26_6, r rune) (image.Rectangle, image.Image, image.Point, fixed.Int26_6, bool) {
	return f.pick(r).Glyph(dot, r)
}

func (f *fallbackFace) GlyphBounds(r rune) (fixed.Rectangle26_6, fixed.Int26_6, bool) {
	return f.pick(r).GlyphBounds(r)
}

func (f *fallbackFace) GlyphAdvance(r rune) (fixed.Int26_6, bool) {
	return f.pick(r).GlyphAdvance(r)
}

func (f *fallbackFace) Kern(r0, r1 rune) fixed.Int26_6 {
	a, b := f.pick(r0), f.pick(r1)
	if a != b {
		return 0
	}
	return a.Kern(r0, r1)
}

// Metrics are the larger of the two fonts', so a line holds either script.
func (f *fallbackFace) Metrics() font.Metrics {
	a, b := f.primary.Metrics(), f.secondary.Metrics()
	return font.Metrics{
		Height:     max(a.Height, b.Height),
		Ascent:     max(a.Ascent, b.Ascent),
		Descent:    max(a.Descent, b.Descent),
		XHeight:    a.XHeight,
		CapHeight:  max(a.CapHeight, b.CapHeight),
		CaretSlope: a.CaretSlope,
	}
}

// lineMetrics returns ascent and descent in pixels for a line of text: the
// Go font's alone when the line needs no CJK glyph, so Latin text sits
// centred in its box.
func (f *fallbackFace) lineMetrics(s string) (ascent, descent float64) {
	m := f.Metrics()
	if f.onlyPrimary(s) {
		m = f.primary.Metrics()
	}
	return fx(m.Ascent), fx(m.Descent)
}

// advance measures s in pixels, faux-bold overhang included.
func (f *fallbackFace) advance(s string) float64 {
	w := fx(font.MeasureString(f, s))
	if f.boldExtra > 0 && !f.onlyPrimary(s) {
		w += float64(f.boldExtra)
	}
	return w
}

// Advance measures s in pixels as Draw draws it.
func (f *Fonts) Advance(s string, size float64, bold bool) float64 {
	return f.face(size, bold).advance(s)
}

func fx(v fixed.Int26_6) float64 { return float64(v) / 64 }

// Draw draws s on dst with its baseline starting at dot. The CJK font has no
// bold weight, so bold CJK glyphs are drawn a few times, one pixel apart;
// the overhang is part of what advance measures, so text still fits.
func (f *Fonts) Draw(dst draw.Image, dot fixed.Point26_6, s string, size float64, bold bool, c color.Color) {
	face := f.face(size, bold)
	src := image.NewUniform(c)
	prev := rune(-1)
	for _, r := range s {
		if prev >= 0 {
			dot.X += face.Kern(prev, r)
		}
		g := face.pick(r)
		dr, mask, mp, adv, ok := g.Glyph(dot, r)
		if ok {
			draw.DrawMask(dst, dr, src, image.Point{}, mask, mp, draw.Over)
			if g == face.secondary {
				for dx := 1; dx <= face.boldExtra; dx++ {
					draw.DrawMask(dst, dr.Add(image.Pt(dx, 0)), src, image.Point{}, mask, mp, draw.Over)
				}
			}
		}
		dot.X += adv
		prev = r
	}
}
