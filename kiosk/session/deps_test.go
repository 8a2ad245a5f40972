package session_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPureGo proves the core imports none of ebiten, malgo, periph or minio
// and needs no cgo, so it builds and is tested anywhere.
//
// With cgo enabled, "runtime/cgo" does show up in the graph, only because
// zerolog imports net and the standard library's net and os/user then pull
// in their optional cgo resolver. So the cgo check is done twice: no
// non-standard package in the graph has cgo files, and with CGO_ENABLED=0
// the graph holds no runtime/cgo at all.
func TestPureGo(t *testing.T) {
	for _, pkg := range []string{"roomkiosk/kiosk/session", "roomkiosk/kiosk/session/sessiontest"} {
		for _, cgo := range []string{"1", "0"} {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("CGO_ENABLED=%s go list -deps %s: %v\n%s", cgo, pkg, err, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Fatalf("go list line %q", line)
				}
				dep, std, cgoFiles := f[0], f[1] == "true", f[2] != "0"
				for _, bad := range []string{"ebiten", "malgo", "periph.io", "minio"} {
					if strings.Contains(dep, bad) {
						t.Errorf("%s depends on %s", pkg, dep)
					}
				}
				if !std && cgoFiles {
					t.Errorf("%s depends on %s, which uses cgo", pkg, dep)
				}
				if cgo == "0" && dep == "runtime/cgo" {
					t.Errorf("%s needs runtime/cgo even with CGO_ENABLED=0", pkg)
				}
			}
		}
	}
}
