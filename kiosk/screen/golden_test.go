package screen

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/internal/uitest"
	"roomkiosk/kiosk/ui"
)

var update = flag.Bool("update", false, "rewrite the golden screenshots in testdata/")

// Tolerance: a pixel differs when a channel is off by more than
// channelTolerance (anti-aliasing and Mesa versions vary a little); the
// picture matches while at most maxDiffering of its pixels differ. A moved
// or missing label changes far more than that.
const (
	channelTolerance = 48
	maxDiffering     = 0.0001 // 38 pixels: a changed digit is about 150
)

// TestDoorMatchesGolden compares the door screen, in both languages, with
// the committed screenshots. Regenerate with
// `xvfb-run -a go test ./kiosk/screen -run Golden -update` and look at them.
func TestDoorMatchesGolden(t *testing.T) {
	f := testFonts(t)
	p := NewPainter(f)
	for _, lang := range ui.Languages {
		t.Run(lang, func(t *testing.T) {
			snap := uitest.Cases(lang)[0].Snap // "door"
			got := render(t, p, ui.Build(f, ui.Input{Connected: true, Snap: snap, Now: uitest.Now}))
			golden := filepath.Join("testdata", "door-"+lang+".png")
			if *update {
				writePNG(t, golden, got)
				return
			}
			want, err := readPNG(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			n, diff := compare(got, want)
			frac := float64(n) / float64(ui.Width*ui.Height)
			if frac > maxDiffering {
				dir := filepath.Join(testenv.ModuleRoot(t), "test-artifacts", "golden")
				writePNG(t, filepath.Join(dir, "door-"+lang+"-got.png"), got)
				writePNG(t, filepath.Join(dir, "door-"+lang+"-diff.png"), diff)
				t.Errorf("%.2f%% of pixels differ from %s (tolerance %.2f%%); see %s", 100*frac, golden, 100*maxDiffering, dir)
			}
		})
	}
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// compare counts differing pixels and paints them red on a dimmed copy.
func compare(got *image.RGBA, want image.Image) (int, *image.RGBA) {
	diff := image.NewRGBA(got.Bounds())
	n := 0
	b := got.Bounds()
	if want.Bounds() != b {
		return b.Dx() * b.Dy(), diff
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := got.RGBAAt(x, y)
			w := color.RGBAModel.Convert(want.At(x, y)).(color.RGBA)
			if far(g.R, w.R) || far(g.G, w.G) || far(g.B, w.B) {
				n++
				diff.SetRGBA(x, y, color.RGBA{255, 0, 0, 255})
			} else {
				diff.SetRGBA(x, y, color.RGBA{g.R / 4, g.G / 4, g.B / 4, 255})
			}
		}
	}
	return n, diff
}

func far(a, b uint8) bool {
	d := int(a) - int(b)
	return d > channelTolerance || d < -channelTolerance
}

// TestGoldenToleranceCatchesChanges: the tolerance is not so loose that a
// changed word or state passes.
func TestGoldenToleranceCatchesChanges(t *testing.T) {
	f := testFonts(t)
	p := NewPainter(f)
	snap := uitest.Cases("en")[0].Snap
	base := render(t, p, ui.Build(f, ui.Input{Connected: true, Snap: snap, Now: uitest.Now}))
	tests := []struct {
		name   string
		change func(*ui.Input)
	}{
		{"room name", func(in *ui.Input) { in.Snap.RoomName = "Room 102 · Family counseling" }},
		{"recording", func(in *ui.Input) { in.Snap.Recording = true }},
		{"time", func(in *ui.Input) { in.Now = in.Now.Add(time.Minute) }},
	}
	for _, tt := range tests {
		in := ui.Input{Connected: true, Snap: snap, Now: uitest.Now}
		tt.change(&in)
		n, _ := compare(render(t, p, ui.Build(f, in)), base)
		if frac := float64(n) / float64(ui.Width*ui.Height); frac <= maxDiffering {
			t.Errorf("%s: only %.3f%% of pixels differ, within the tolerance", tt.name, 100*frac)
		}
	}
}
