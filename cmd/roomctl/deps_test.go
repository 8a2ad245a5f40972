package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps roomctl pure Go and free of AGPL code: MinIO's server,
// mc and madmin-go run (if at all) as separate programs, and nothing that
// needs cgo, a display or hardware is linked in.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/minio/madmin-go", "github.com/minio/minio/", "github.com/minio/mc/",
			"github.com/gen2brain/malgo", "github.com/hajimehoshi/ebiten", "periph.io/"} {
			if strings.HasPrefix(p, bad) || p == strings.TrimSuffix(bad, "/") {
				t.Errorf("roomctl imports %s", p)
			}
		}
	}
}
