package screen

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hajimehoshi/ebiten/v2"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/internal/uitest"
	"roomkiosk/kiosk/ui"
)

// Reading pixels needs a running game loop, so the tests run inside
// Update (ebiten's own test pattern). The package needs a display: the whole
// test run is under xvfb-run.
type testGame struct {
	m      *testing.M
	code   int
	frames int
}

func (g *testGame) Update() error {
	// A few frames first: ebiten maps the window after its first buffer
	// swap, and the press watcher's test clicks on it.
	if g.frames++; g.frames < 5 {
		return nil
	}
	g.code = g.m.Run()
	return ebiten.Termination
}
func (g *testGame) Draw(*ebiten.Image)         {}
func (g *testGame) Layout(int, int) (int, int) { return ui.Width, ui.Height }

func TestMain(m *testing.M) {
	flag.Parse()
	g := &testGame{m: m}
	ebiten.SetWindowSize(ui.Width, ui.Height)
	ebiten.SetRunnableOnUnfocused(true)
	if err := ebiten.RunGame(g); err != nil {
		panic(err)
	}
	os.Exit(g.code)
}

var (
	fontsOnce sync.Once
	fonts     *ui.Fonts
	fontsErr  error
)

func testFonts(t *testing.T) *ui.Fonts {
	t.Helper()
	if _, err := os.Stat(ui.DefaultCJKFont); err != nil {
		testenv.Missing(t, ui.DefaultCJKFont+" (Debian package fonts-wqy-microhei)")
	}
	fontsOnce.Do(func() { fonts, fontsErr = ui.LoadFonts(ui.DefaultCJKFont) })
	if fontsErr != nil {
		t.Fatal(fontsErr)
	}
	return fonts
}

// render paints a scene offscreen and reads it back.
func render(t *testing.T, p *Painter, sc *ui.Scene) *image.RGBA {
	t.Helper()
	img := ebiten.NewImage(ui.Width, ui.Height)
	defer img.Deallocate()
	img.Fill(ui.ColBG)
	p.Paint(img, sc)
	out := image.NewRGBA(image.Rect(0, 0, ui.Width, ui.Height))
	img.ReadPixels(out.Pix)
	return out
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestRenderEveryScene paints every fixture in both languages (and the
// connecting and override scenes), checks each has content, and keeps the
// pictures under test-artifacts/screen-scenes for people to look at.
func TestRenderEveryScene(t *testing.T) {
	f := testFonts(t)
	p := NewPainter(f)
	dir := filepath.Join(testenv.ModuleRoot(t), "test-artifacts", "screen-scenes")
	for _, lang := range ui.Languages {
		cases := uitest.Cases(lang)
		for _, c := range cases {
			in := ui.Input{Connected: true, Snap: c.Snap, Now: uitest.Now, Version: "1.2.3"}
			if c.Name == "checklist-blocked" {
				in.Local.Override = true
				sc := ui.Build(f, in)
				img := render(t, p, sc)
				writePNG(t, filepath.Join(dir, lang+"-override.png"), img)
				in.Local.Override = false
			}
			sc := ui.Build(f, in)
			img := render(t, p, sc)
			if colours(img) < 3 {
				t.Errorf("%s/%s: blank render", lang, c.Name)
			}
			writePNG(t, filepath.Join(dir, lang+"-"+c.Name+".png"), img)
		}
	}
	sc := ui.Build(f, ui.Input{Now: uitest.Now})
	writePNG(t, filepath.Join(dir, "connecting.png"), render(t, p, sc))
}

// colours counts distinct colours in a sample of pixels.
func colours(img *image.RGBA) int {
	seen := map[[4]uint8]bool{}
	for i := 0; i+3 < len(img.Pix); i += 4 * 97 {
		seen[[4]uint8(img.Pix[i:i+4])] = true
	}
	return len(seen)
}
