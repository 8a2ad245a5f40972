// Package ui is the kiosk screen without the display: the message catalogs,
// the scenes built from the daemon's snapshots (a display list of shapes and
// fitted text lines plus touch targets with stable ids), the text fitting
// that keeps every string inside its box, and the link to the daemon. It does
// not import ebiten, so all of it is tested without an X server; package
// kiosk/screen only paints what this package lays out.
package ui

import (
	"encoding/json"
	"image/color"
)

// Width and Height are the logical size every scene is laid out for: the 7"
// 800x480 panel. The renderer scales to other window sizes.
const (
	Width  = 800
	Height = 480
)

// Rect is an axis-aligned rectangle in logical pixels.
type Rect struct {
	X, Y, W, H float64
}

// R is shorthand for a Rect.
func R(x, y, w, h float64) Rect { return Rect{x, y, w, h} }

// Contains reports whether the point lies inside r.
func (r Rect) Contains(x, y float64) bool {
	return x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H
}

// Inset shrinks r by d on every side.
func (r Rect) Inset(d float64) Rect { return Rect{r.X + d, r.Y + d, r.W - 2*d, r.H - 2*d} }

// Within reports whether r lies inside outer, allowing eps of rounding.
func (r Rect) Within(outer Rect, eps float64) bool {
	return r.X >= outer.X-eps && r.Y >= outer.Y-eps &&
		r.X+r.W <= outer.X+outer.W+eps && r.Y+r.H <= outer.Y+outer.H+eps
}

// MarshalJSON writes whole pixels, which is what xdotool and people read.
func (r Rect) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	}{int(r.X + 0.5), int(r.Y + 0.5), int(r.W + 0.5), int(r.H + 0.5)})
}

// Palette: calm, high-contrast colours readable from 2 m.
var (
	ColBG        = rgb(0x10, 0x1a, 0x2b) // deep navy
	ColPanel     = rgb(0x1b, 0x28, 0x3f)
	ColPanelHi   = rgb(0x26, 0x36, 0x52)
	ColText      = rgb(0xf2, 0xf5, 0xfa)
	ColMuted     = rgb(0x9a, 0xa8, 0xbf)
	ColFree      = rgb(0x2e, 0xb8, 0x72) // green
	ColBusy      = rgb(0xe8, 0x9b, 0x2c) // amber
	ColOut       = rgb(0x7b, 0x86, 0x99) // grey
	ColRec       = rgb(0xe5, 0x39, 0x35) // red "on air"
	ColAccent    = rgb(0x3d, 0x8b, 0xfd) // primary action
	ColAccentDim = rgb(0x2a, 0x4d, 0x80)
	ColDanger    = rgb(0xc6, 0x3b, 0x3b)
	ColGood      = rgb(0x2e, 0xb8, 0x72)
	ColBad       = rgb(0xe5, 0x5a, 0x4f)
	ColUnknown   = rgb(0x9a, 0xa8, 0xbf)
	ColPressed   = rgb(0xff, 0xff, 0xff)
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xff} }
