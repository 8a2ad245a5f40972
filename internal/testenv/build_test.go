package testenv_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkiosk/internal/testenv"
)

// TestGoBuild: a command of the project lands where it is told, with the
// environment given (a static build here); a package that is not there is an
// error naming it, not a test failure, so a shared build can report it.
func TestGoBuild(t *testing.T) {
	root, dir := testenv.ModuleRoot(t), t.TempDir()
	out := filepath.Join(dir, "devmic")
	if err := testenv.GoBuild(root, out, []string{"CGO_ENABLED=0"}, "./recorder/alsatest/devmic"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode()&0o100 == 0 {
		t.Fatalf("built command: %v, %v", fi, err)
	}
	err := testenv.GoBuild(root, dir+"/", nil, "./no/such/command")
	if err == nil || !strings.Contains(err.Error(), "./no/such/command") {
		t.Fatalf("building a missing package: %v", err)
	}
}
