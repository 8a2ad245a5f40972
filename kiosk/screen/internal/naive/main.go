// Command naive is the benchmark baseline for the screen's idle CPU: the
// usual ebiten loop, which clears and redraws a door-like screen every
// frame at the default 60 TPS with vsync on (which Xvfb does not honour).
package main

import (
	"image/color"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

type game struct{}

func (game) Update() error { return nil }

func (game) Draw(screen *ebiten.Image) {
	screen.Fill(color.RGBA{0x10, 0x1a, 0x2b, 0xff})
	vector.DrawFilledRect(screen, 24, 62, 752, 214, color.RGBA{0x2e, 0xb8, 0x72, 0xff}, true)
	vector.DrawFilledRect(screen, 24, 288, 752, 64, color.RGBA{0x1b, 0x28, 0x3f, 0xff}, true)
	vector.DrawFilledRect(screen, 600, 372, 176, 88, color.RGBA{0x3d, 0x8b, 0xfd, 0xff}, true)
	ebitenutil.DebugPrintAt(screen, "Room 101    Free    Not recorded    Start session", 28, 20)
}

func (game) Layout(int, int) (int, int) { return 800, 480 }

func main() {
	ebiten.SetWindowSize(800, 480)
	ebiten.SetWindowTitle("naive")
	ebiten.SetRunnableOnUnfocused(true)
	if err := ebiten.RunGame(game{}); err != nil {
		panic(err)
	}
}
