package main

import (
	"strings"
	"testing"
	"time"
)

func TestEsc(t *testing.T) {
	for in, want := range map[string]string{
		"free":                       "free",
		"23.7 °C, 会议室":               "23.7 °C, 会议室",
		"\x1b[2J":                    `\x1b[2J`,
		"a\x1b]0;title\x07b":         `a\x1b]0;title\x07b`,
		"row\nFORGED\tROW":           `row\x0aFORGED\x09ROW`,
		"\u009b31m":                  `\u009b31m`,
		"abc\u202egnp.exe":           `abc\u202egnp.exe`,
		"bad\xffbyte":                `bad\xffbyte`,
		"del\x7f":                    `del\x7f`,
		"zero\u200bwidth\ufeffmarks": `zero\u200bwidth\ufeffmarks`,
	} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(esc(in), "\x1b\x07\n\t\x7f") {
			t.Errorf("esc(%q) still holds a control character", in)
		}
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	for endpoint, warn := range map[string]bool{
		"http://127.0.0.1:9000":        false,
		"http://127.8.9.1:9000":        false,
		"http://localhost:9000":        false,
		"http://[::1]:9000":            false,
		"https://minio.clinic.lan":     false,
		"http://minio.clinic.lan:9000": true,
		"http://10.0.0.5:9000":         true,
	} {
		if got := plainHTTPWarning(endpoint) != ""; got != warn {
			t.Errorf("%s: warning %v, want %v", endpoint, got, warn)
		}
	}
}

func TestClockWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2300 * time.Millisecond: "ahead 2.3s", -2300 * time.Millisecond: "behind 2.3s",
		400 * time.Millisecond: "in step", -500 * time.Millisecond: "in step",
	} {
		if got := clockWords(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
