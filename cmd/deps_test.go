// Package cmd_test holds the one dependency test of the project: for each
// binary and for the session core, what it may not link and why; which
// floor may stand on which; and the contracts that have one owner. A rule
// broken here is a design rule broken (README, "The pieces": the floors).
package cmd_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// floors says which floor may not stand on which (imports outside tests;
// a test may drive any floor). From the ground up: internal/ (shared
// foundations), recorder/ and hardware/ (the devices), sync/ (the archive),
// kiosk/ (the door), cmd/ (the binaries), images/ (the appliance).
var floors = []struct {
	floor  string // import path prefix
	banned []ban
}{
	{"roomkiosk/internal/", []ban{
		{"roomkiosk/kiosk/", "internal/ is the ground floor: every floor stands on it, so it stands on none"},
		{"roomkiosk/recorder", "internal/ is the ground floor: every floor stands on it, so it stands on none"},
		{"roomkiosk/hardware", "internal/ is the ground floor: every floor stands on it, so it stands on none"},
		{"roomkiosk/sync/", "internal/ is the ground floor: every floor stands on it, so it stands on none"},
	}},
	{"roomkiosk/recorder", []ban{
		{"roomkiosk/kiosk/", "the devices know nothing of the door: the session core drives them through its ports, wired in cmd/roomkiosk"},
		{"roomkiosk/sync/", "the archive builds on the recorder's formats, not the other way round (the uploader is the recorder's port)"},
	}},
	{"roomkiosk/hardware", []ban{
		{"roomkiosk/kiosk/", "the devices know nothing of the door: the session core drives them through its ports, wired in cmd/roomkiosk"},
		{"roomkiosk/sync/", "the board and its checks know nothing of the archive (the upload check is the uploader's)"},
	}},
	{"roomkiosk/sync/", []ban{
		{"roomkiosk/kiosk/", "the archive knows nothing of the door: roomctl and the console link sync/ without it"},
	}},
	{"roomkiosk/kiosk/", []ban{
		{"roomkiosk/recorder", "the door decides and shows; it reaches the recorder through its ports (session.Recorder), wired in cmd/roomkiosk"},
		{"roomkiosk/hardware", "the door decides and shows; it reaches the board through its ports, wired in cmd/roomkiosk"},
		{"roomkiosk/sync/", "the door decides and shows; it reaches the uploader through its ports (session.Uploader), wired in cmd/roomkiosk"},
	}},
}

// TestFloors: no floor imports one it stands under, and no package outside
// cmd/ and images/ imports a binary's package (cmd/ is the composition
// roots: nothing builds on them).
func TestFloors(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "roomkiosk/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		for _, fl := range floors {
			if !underPrefix(pkg, fl.floor) {
				continue
			}
			seen[fl.floor] = true
			for _, imp := range f[1:] {
				for _, b := range fl.banned {
					if underPrefix(imp, b.prefix) {
						t.Errorf("%s imports %s: %s", pkg, imp, b.why)
					}
				}
			}
		}
		if underPrefix(pkg, "roomkiosk/cmd/") || underPrefix(pkg, "roomkiosk/images/") {
			continue
		}
		for _, imp := range f[1:] {
			if underPrefix(imp, "roomkiosk/cmd/") {
				t.Errorf("%s imports %s: cmd/ holds the binaries, the top floor; nothing builds on them", pkg, imp)
			}
		}
	}
	for _, fl := range floors {
		if !seen[fl.floor] {
			t.Errorf("no package under %s: the floor moved, update this test", fl.floor)
		}
	}
}

// underPrefix reports whether pkg is prefix (a path without its slash) or
// under it.
func underPrefix(pkg, prefix string) bool {
	return pkg == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(prefix, "/")+"/")
}

// goFiles parses every non-test Go file of the module under the given
// folders (relative to the module root); it yields each file's path from the
// root and its syntax.
func goFiles(t *testing.T, dirs ...string) map[string]*ast.File {
	t.Helper()
	out := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join("..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != filepath.Join("..", dir) && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "bin") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			out[filepath.ToSlash(rel)] = f
			return nil
		})
		if err != nil {
			t.Fatalf("read the sources: %v", err)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no Go files under %v: run from cmd/", dirs)
	}
	return out
}

// TestOnlyLayoutSpellsKeys: sync/layout is the archive's contract, the one
// package that builds and parses object keys, so the writer (the uploader)
// and the readers (roomctl, the console, provisioning's policy) cannot
// drift apart. Any other non-test file with a string literal that starts a
// key (rooms/, audit/, admin/) or glues one of a room's folders
// (sessions/, deletions/, checks/) builds keys by hand. A literal that
// holds a space (the console's "GET /deletions/confirm") is an HTTP route:
// no key holds a space.
func TestOnlyLayoutSpellsKeys(t *testing.T) {
	starts := []string{"rooms/", "audit/", "admin/"}
	folders := []string{"sessions/", "deletions/", "checks/"}
	for path, f := range goFiles(t, ".") {
		if strings.HasPrefix(path, "sync/layout/") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil || strings.Contains(v, " ") {
				return true
			}
			bad := false
			for _, p := range starts {
				bad = bad || strings.HasPrefix(v, p)
			}
			for _, p := range folders {
				bad = bad || strings.HasPrefix(v, p) || strings.Contains(v, "/"+p)
			}
			if bad {
				t.Errorf("%s: %s spells an object key: build it with sync/layout", path, lit.Value)
			}
			return true
		})
	}
}

// TestOnlySpoolRenamesInTheSpool: recorder/spool owns the spool's layout
// (where a session, a held manifest, a quarantined or a kept session lives,
// and when a segment is sealed); the recorder fills it and the uploader
// drains it through its methods. A rename elsewhere in the recorder or the
// uploader moves spool files behind the owner's back, where a power cut or
// a layout change would find a second, divergent copy of the rules.
func TestOnlySpoolRenamesInTheSpool(t *testing.T) {
	for path, f := range goFiles(t, "recorder", "sync/upload") {
		if strings.HasPrefix(path, "recorder/spool/") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && (sel.Sel.Name == "Rename" || sel.Sel.Name == "Link") {
				t.Errorf("%s: os.%s: spool files move only through recorder/spool's methods", path, sel.Sel.Name)
			}
			return true
		})
	}
}
