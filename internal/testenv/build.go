package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GoBuild builds the project's packages (paths from the module root, as
// "./cmd/roomctl") into out: a folder ending in "/" for several, a file
// name for one. env is added to this process's environment (GOOS,
// CGO_ENABLED...). The products are built without -race: they are what is
// tested, not the test. It returns an error rather than failing a test, so
// a build shared through a sync.Once reports to every test that needs it.
func GoBuild(root, out string, env []string, pkgs ...string) error {
	args := append([]string{"build", "-o", out}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b)
	}
	return nil
}
