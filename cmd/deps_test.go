// Package cmd_test holds the one dependency test of the project: for each
// binary and for the session core, what it may not link and why. A rule
// broken here is a design rule broken (DESIGN.md, "Shape").
package cmd_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ban is one import-path prefix a package must not depend on, with the reason.
type ban struct{ prefix, why string }

var (
	display = []ban{
		{"github.com/hajimehoshi/ebiten", "ebiten opens GLFW in a package init: without an X display the binary panics before main"},
		{"github.com/go-gl/", "GLFW/GL need a display"},
		{"golang.org/x/mobile", "a display library"},
	}
	agpl = []ban{
		{"github.com/minio/minio/", "the MinIO server is AGPL-3.0: run it as a separate program"},
		{"github.com/minio/mc/", "mc is AGPL-3.0: run it as a separate program"},
		{"github.com/minio/madmin-go", "madmin-go is AGPL-3.0"},
	}
	device = []ban{
		{"github.com/gen2brain/malgo", "audio capture (cgo) belongs to the daemon"},
		{"periph.io/", "GPIO and I2C belong to the daemon"},
		{"roomkiosk/hardware", "sensors and checks belong to the daemon"},
		{"roomkiosk/recorder/capture", "the capture device belongs to the daemon"},
	}
	stateMachine = ban{"roomkiosk/kiosk/session", "the state machine runs in the daemon only; others speak its vocabulary (internal/room)"}
)

func bans(groups ...[]ban) []ban {
	var all []ban
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

var rules = []struct {
	pkg    string
	pureGo bool // builds with CGO_ENABLED=0 and links no package with cgo files
	banned []ban
}{
	{"roomkiosk/cmd/roomkiosk", false, bans(display, agpl)},
	{"roomkiosk/cmd/roomkiosk-screen", false, bans(agpl, device, []ban{
		stateMachine,
		{"roomkiosk/cmd/roomkiosk/config", "the device config holds the counselors' PIN hashes: the screen takes flags"},
		{"roomkiosk/recorder", "the screen neither records nor encrypts: a compromised screen process gets no code for it"},
		{"roomkiosk/sync", "the screen talks to no storage"},
		{"github.com/minio/minio-go", "the screen talks to no storage"},
		{"filippo.io/age", "the screen holds no keys and encrypts nothing"},
	})},
	{"roomkiosk/cmd/roomctl", true, bans(display, agpl, device, []ban{stateMachine})},
	{"roomkiosk/sync/console", true, bans(display, agpl, device, []ban{stateMachine,
		{"github.com/chromedp/", "the browser driver is for the console's tests only"}})},
	// The core decides; it does no IO and links no device, display or
	// storage code, so every rule is tested anywhere with a fake clock.
	{"roomkiosk/kiosk/session", true, bans(display, device, []ban{
		{"github.com/minio/", "storage is the uploader's port"},
		{"roomkiosk/recorder", "the recorder is a port (session.Recorder)"},
		{"roomkiosk/sync", "the uploader is a port (session.Uploader)"},
		{"os/exec", "the core runs nothing"},
		{"net/http", "the core serves nothing"},
	})},
	{"roomkiosk/kiosk/session/sessiontest", true, bans(display, device)},
	// The vocabulary is a leaf: everything may import it.
	{"roomkiosk/internal/room", true, bans([]ban{{"roomkiosk/kiosk/", "a leaf imports nothing from the project"},
		{"roomkiosk/recorder", "a leaf"}, {"roomkiosk/hardware", "a leaf"}, {"roomkiosk/sync", "a leaf"}})},
	// Scenes, layout and the screen's test harness are tested without a display.
	{"roomkiosk/kiosk/ui", false, display},
	{"roomkiosk/kiosk/screen/screentest", false, display},
	// roomctl (CGO_ENABLED=0) reads segments and manifests through these.
	{"roomkiosk/recorder", true, bans(display, []ban{{"github.com/gen2brain/malgo", "only recorder/capture may use cgo"}})},
	{"roomkiosk/recorder/spool", true, display},
	{"roomkiosk/recorder/recordertest", true, display},
}

func TestDependencies(t *testing.T) {
	for _, r := range rules {
		t.Run(strings.TrimPrefix(r.pkg, "roomkiosk/"), func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", r.pkg)
			if r.pureGo {
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", r.pkg, err, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Fatalf("go list line %q", line)
				}
				dep, std, cgoFiles := f[0], f[1] == "true", f[2] != "0"
				if dep == r.pkg {
					continue
				}
				for _, b := range r.banned {
					if dep == strings.TrimSuffix(b.prefix, "/") || strings.HasPrefix(dep, b.prefix) {
						t.Errorf("%s links %s: %s", r.pkg, dep, b.why)
					}
				}
				if r.pureGo && !std && cgoFiles {
					t.Errorf("%s links %s, which uses cgo: it must build with CGO_ENABLED=0", r.pkg, dep)
				}
				if r.pureGo && dep == "runtime/cgo" {
					t.Errorf("%s needs runtime/cgo even with CGO_ENABLED=0", r.pkg)
				}
			}
		})
	}
}

// TestKioskImportsNothingAbove: kiosk/ is the bottom floor (the vocabulary,
// the core, the screen's logic, small leaves such as internal/durable) that the
// recorder, hardware and sync build on; no package there imports them back.
func TestKioskImportsNothingAbove(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "roomkiosk/kiosk/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			for _, above := range []string{"roomkiosk/recorder", "roomkiosk/hardware", "roomkiosk/sync", "roomkiosk/cmd"} {
				if imp == above || strings.HasPrefix(imp, above+"/") {
					t.Errorf("%s imports %s: kiosk/ is below it", f[0], imp)
				}
			}
		}
	}
}
