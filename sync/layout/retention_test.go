package layout

import (
	"strings"
	"testing"
	"time"
)

func TestParseClassDuration(t *testing.T) {
	start := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"120d", start.AddDate(0, 0, 120)},
		{"2w", start.AddDate(0, 0, 14)},
		{"6m", start.AddDate(0, 6, 0)},
		{"7y", start.AddDate(7, 0, 0)},
	} {
		d, err := ParseClassDuration(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := d.After(start); !got.Equal(tc.want) || d.String() != tc.in {
			t.Errorf("%s: %v (%s), want %v", tc.in, got, d, tc.want)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "1h", "30s", "120", "d", "7 y", "1.5y", "101y", "99999d"} {
		if _, err := ParseClassDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func testPolicy() *RetentionPolicy {
	return &RetentionPolicy{Version: 1, Default: "clinical",
		Classes: map[string]string{"supervision": "120d", "clinical": "7y", "short": "30d"},
		Rooms:   map[string]string{"101": "supervision"}}
}

// TestSessionRetention: the class applied is the longer of the room's and
// the device's, so a device (a stolen kiosk) can never shorten it.
func TestSessionRetention(t *testing.T) {
	p := testPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, room, device string
		ext                time.Time
		class              string
		until              time.Time
		note               string
	}{
		{"room class", "101", "", time.Time{}, "supervision", start.AddDate(0, 0, 120), ""},
		{"default class", "102", "", time.Time{}, "clinical", start.AddDate(7, 0, 0), ""},
		{"device lengthens", "101", "clinical", time.Time{}, "clinical", start.AddDate(7, 0, 0), ""},
		{"device cannot shorten", "102", "short", time.Time{}, "clinical", start.AddDate(7, 0, 0), "shorter"},
		{"device cannot shorten a room's", "101", "short", time.Time{}, "supervision", start.AddDate(0, 0, 120), "shorter"},
		{"unknown device class ignored", "101", "zero", time.Time{}, "supervision", start.AddDate(0, 0, 120), "not in the policy"},
		{"extension", "101", "", start.AddDate(1, 0, 0), "supervision", start.AddDate(1, 0, 0), ""},
		{"extension shorter than the class is no shortening", "101", "", start.AddDate(0, 0, 1), "supervision", start.AddDate(0, 0, 120), ""},
	} {
		r := p.SessionRetention(tc.room, start, tc.device, tc.ext)
		if r.Class != tc.class || !r.Until.Equal(tc.until) || (tc.note == "") != (r.Note == "") || !strings.Contains(r.Note, tc.note) {
			t.Errorf("%s: %+v, want %s until %v (note %q)", tc.name, r, tc.class, tc.until, tc.note)
		}
	}
}

func TestRetentionPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(p *RetentionPolicy)
		want string
	}{
		{func(p *RetentionPolicy) { p.Classes = nil }, "no classes"},
		{func(p *RetentionPolicy) { p.Default = "none" }, "default class"},
		{func(p *RetentionPolicy) { p.Classes["Bad Name"] = "1d" }, "Bad Name"},
		{func(p *RetentionPolicy) { p.Classes["x"] = "1h" }, "class x"},
		{func(p *RetentionPolicy) { p.Rooms["../x"] = "clinical" }, "rooms"},
		{func(p *RetentionPolicy) { p.Rooms["102"] = "other" }, "room 102"},
		{func(p *RetentionPolicy) { p.Version = 9 }, "version 9"},
	} {
		p := testPolicy()
		tc.edit(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %q, got %v", tc.want, err)
		}
	}
}

func TestShortened(t *testing.T) {
	old := testPolicy()
	next := testPolicy()
	next.Classes["clinical"] = "10y"
	next.Classes["new"] = "1d"
	if s := Shortened(old, next); len(s) != 0 {
		t.Fatalf("lengthening and adding: %v", s)
	}
	next.Classes["supervision"] = "90d"
	delete(next.Classes, "short")
	if s := Shortened(old, next); len(s) != 2 || !strings.Contains(s[0], "short (removed)") || !strings.Contains(s[1], "supervision (120d -> 90d)") {
		t.Fatalf("shortening: %v", s)
	}
}

func TestValidReasonCode(t *testing.T) {
	for _, ok := range []string{"subpoena", "complaint-2026-14", "audit.q3"} {
		if err := ValidReasonCode(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Jane Doe", "a b", "x\n", strings.Repeat("a", 49), "-x"} {
		if err := ValidReasonCode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
