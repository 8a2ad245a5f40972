package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// These exit before a window opens; the test binary still needs a display
// because ebiten's init does (the test run is under xvfb-run).
func TestRunRefusesBadSetup(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"--nope"}, exitConfig, "flag provided but not defined"},
		// The device config holds PIN hashes: the screen refuses to read it.
		{"device config refused", []string{"--config", "/etc/roomkiosk/roomkiosk.toml"}, exitConfig, "does not read the device config"},
		{"empty socket", []string{"--socket", ""}, exitConfig, "--socket: required"},
		{"unknown language", []string{"--socket", "/run/x.sock", "--language", "fr"}, exitConfig, `"fr" is not a language`},
		{"ui endpoint not on loopback", []string{"--socket", "/run/x.sock", "--ui-listen", "0.0.0.0:8090"}, exitConfig, "not a loopback address"},
		{"ui endpoint malformed", []string{"--socket", "/run/x.sock", "--ui-listen", "8090"}, exitConfig, "not host:port"},
		{"missing cjk font", []string{"--socket", "/run/x.sock", "--cjk-font", filepath.Join(dir, "none.ttc")}, exitConfig, "fonts-wqy-microhei"},
		{"bad log level", []string{"--socket", "/run/x.sock", "--log-level", "loud"}, exitConfig, "log level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.wantCode || !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("code %d, stderr %q; want %d and %q", code, errb.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb); code != exitOK || strings.TrimSpace(out.String()) != version {
		t.Errorf("code %d, out %q", code, out.String())
	}
}
