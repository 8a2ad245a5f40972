// Package testenv helps integration tests find the real components they need
// (MinIO, mc, age, Xvfb, espeak-ng, sox, the ALSA library) and report
// benchmark figures. Under CI=true a missing component fails the test; on a
// developer's machine it skips with a hint to run `make test`.
package testenv

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the run is CI's, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// ModuleRoot returns the repository root (the folder holding go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Tool returns the path of a command the tests need: first the project's own
// bin folder (where `make` installs minio, mc and age), then PATH. A missing
// tool fails the test in CI and skips it elsewhere.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ModuleRoot(t), "bin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, name+" (run `make test`, which installs it)")
	return ""
}

// Missing fails in CI and skips elsewhere; what names the dependency.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required test dependency missing: %s", what)
	}
	t.Skipf("dependency missing: %s", what)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Figure is one benchmark result, compared with a baseline measured in the
// same run. make bench collects them into bench/REPORT.md.
type Figure struct {
	Name     string  `json:"name"`     // what was measured: "recorder pipeline vs age"
	Value    float64 `json:"value"`    // our figure
	Unit     string  `json:"unit"`     // "MB/s", "% of one core", "ms", "MB"
	Baseline string  `json:"baseline"` // what it is compared with: "age -r (same PCM)", or "" for absolute targets
	BaseVal  float64 `json:"base_value,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"` // Value/BaseVal (or the inverse, as Target says)
	Target   string  `json:"target"`          // ">= 0.8", "< 5 %"
	Met      bool    `json:"met"`
	Note     string  `json:"note,omitempty"`
	At       string  `json:"at"`
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// Report logs a figure and, when ROOMKIOSK_BENCH_OUT names a folder (make
// bench sets it), writes it there as JSON for the report.
func Report(t testing.TB, f Figure) {
	t.Helper()
	f.At = time.Now().UTC().Format(time.RFC3339)
	t.Logf("FIGURE %s: %.4g %s (baseline %s %.4g, ratio %.3f, target %s, met %v) %s",
		f.Name, f.Value, f.Unit, f.Baseline, f.BaseVal, f.Ratio, f.Target, f.Met, f.Note)
	dir := os.Getenv("ROOMKIOSK_BENCH_OUT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(f.Name), "-"), "-")
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
