package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "nope.toml"), "nope.toml"},
		{"unknown key", write("unknown.toml", "[room]\nid = \"1\"\nfloor = 2\n"), "unknown key room.floor"},
		{"secret key", write("secret.toml", "[encryption]\nrecipients = [\"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\"]\n"), "secret key"},
		{"bad threshold", write("threshold.toml", "[checks]\ntemp_min_c = 40\ntemp_max_c = 20\n"), "checks.temp_min_c"},
	}
	for _, cmd := range []string{"run", "check"} {
		for _, tt := range tests {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), []string{cmd, "--config", tt.path}, &stdout, &stderr)
				if code != exitConfig {
					t.Fatalf("exit code %d, want %d; stderr: %s", code, exitConfig, stderr.String())
				}
				if !strings.Contains(stderr.String(), tt.want) {
					t.Fatalf("stderr %q does not name %q", stderr.String(), tt.want)
				}
			})
		}
	}
}
