package recorder_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPureGo: roomctl (CGO_ENABLED=0) imports these, so they must not pull in
// malgo or any package with cgo files; only recorder/capture may.
func TestPureGo(t *testing.T) {
	pkgs := []string{"roomkiosk/recorder", "roomkiosk/recorder/manifest", "roomkiosk/recorder/segment",
		"roomkiosk/recorder/spool", "roomkiosk/recorder/recordertest"}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("CGO_ENABLED=0 go list -deps: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		switch dep := f[0]; {
		case strings.Contains(dep, "malgo"), strings.Contains(dep, "ebiten"), strings.Contains(dep, "minio"):
			t.Errorf("pure recorder packages depend on %s", dep)
		case f[1] != "true" && f[2] != "0":
			t.Errorf("pure recorder packages depend on %s, which uses cgo", dep)
		case dep == "runtime/cgo":
			t.Errorf("pure recorder packages need runtime/cgo with CGO_ENABLED=0")
		}
	}
}
