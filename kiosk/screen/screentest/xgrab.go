package screentest

import (
	"fmt"
	"hash/fnv"
	"image"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Grabber reads the X screen's pixels directly (no ImageMagick process), fast
// enough to watch a frame arrive.
type Grabber struct {
	conn *xgb.Conn
	root xproto.Window
	w, h int
}

// NewGrabber connects to the X server.
func (x *X) NewGrabber() (*Grabber, error) {
	// Our Xvfb has no authority file: xgb finds no cookie for it and
	// connects without one.
	c, err := xgb.NewConnDisplay(x.Display)
	if err != nil {
		return nil, fmt.Errorf("connect to X %s: %w", x.Display, err)
	}
	scr := xproto.Setup(c).DefaultScreen(c)
	return &Grabber{conn: c, root: scr.Root, w: int(scr.WidthInPixels), h: int(scr.HeightInPixels)}, nil
}

// Close closes the connection.
func (g *Grabber) Close() { g.conn.Close() }

// Image returns the whole screen.
func (g *Grabber) Image() (*image.RGBA, error) {
	r, err := xproto.GetImage(g.conn, xproto.ImageFormatZPixmap, xproto.Drawable(g.root), 0, 0, uint16(g.w), uint16(g.h), 0xffffffff).Reply()
	if err != nil {
		return nil, fmt.Errorf("get screen image: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, g.w, g.h))
	// 24-bit depth comes as 32 bits per pixel, BGRX.
	for i := 0; i+3 < len(r.Data) && i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = r.Data[i+2], r.Data[i+1], r.Data[i], 0xff
	}
	return img, nil
}

// Hash returns a hash of the screen's pixels.
func (g *Grabber) Hash() (uint64, error) {
	r, err := xproto.GetImage(g.conn, xproto.ImageFormatZPixmap, xproto.Drawable(g.root), 0, 0, uint16(g.w), uint16(g.h), 0xffffffff).Reply()
	if err != nil {
		return 0, fmt.Errorf("get screen image: %w", err)
	}
	h := fnv.New64a()
	h.Write(r.Data)
	return h.Sum64(), nil
}
