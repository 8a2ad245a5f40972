package layout

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAccessKeysBothWays(t *testing.T) {
	sid := "20261102T140405Z-abc123"
	fp := "0123456789abcdef"
	at := time.Date(2026, 11, 2, 9, 8, 7, 123456789, time.UTC)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		key, spelled string
		want         Key
	}{
		{GrantKey("101", sid, fp), "grants/101/20261102T140405Z-abc123/0123456789abcdef/grant.json",
			Key{Kind: KindGrant, Room: "101", Session: sid, Device: fp}},
		{ReaderAuditKey("sup-7", at, "pull", "ABCDEFG2"), "audit/readers/sup-7/2026/11/02/20261102T090807.123456789Z-pull-ABCDEFG2.json",
			Key{Kind: KindReaderAudit, Device: "sup-7", Day: day, At: at, Action: "pull", Nonce: "ABCDEFG2"}},
	} {
		if tc.key != tc.spelled {
			t.Errorf("key %q, want %q", tc.key, tc.spelled)
		}
		got, err := Parse(tc.key)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.key, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.key, got, tc.want)
		}
		if s := got.String(); s != tc.key {
			t.Errorf("String() = %q, want %q", s, tc.key)
		}
		if got.Kind.DeviceWritable() || got.Kind.InSession() {
			t.Errorf("%v: a device may not write it", got.Kind)
		}
		if strings.Contains(got.Kind.String(), "kind(") {
			t.Errorf("kind %d has no name", got.Kind)
		}
	}
	for _, key := range []string{
		"grants/101/" + sid + "/" + fp + "/seg-000003.wav.age",
		"grants/101/" + sid + "/" + fp + "/seg-000003.wav.age.hdr",
		"grants/101/" + sid + "/" + fp + "/../x.hdr",
		"grants/101/" + sid + "/XYZ/grant.json",
		"grants/1 01/" + sid + "/" + fp + "/grant.json",
		"grants/101/not-a-session/" + fp + "/grant.json",
		"grants/101/" + sid + "/" + fp + "/grant.json/x",
		"audit/readers/../2026/11/02/20261102T090807.123456789Z-pull-ABCDEFG2.json",
		"audit/readers/sup-7/2026/11/03/20261102T090807.123456789Z-pull-ABCDEFG2.json",
		"audit/readers/sup-7/x.json",
	} {
		if k, err := Parse(key); err == nil || !errors.Is(err, ErrNotAKey) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrNotAKey", key, k, err)
		}
	}
}

func TestParseGrant(t *testing.T) {
	good := `{"version":1,"session_id":"20261102T140405Z-abc123","room_id":"101","recipient":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","segments":1,"granted_at":"2026-11-02T10:00:00Z","by":"admin","headers":{"seg-000001.wav.age":"age-encryption.org/v1\n--- x\n"}}`
	if _, err := ParseGrant([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"version":   strings.Replace(good, `"version":1`, `"version":9`, 1),
		"recipient": strings.Replace(good, `age1ql3z`, `age1xx3z`, 1),
		"session":   strings.Replace(good, `20261102T140405Z-abc123`, `x`, 1),
		"segments":  strings.Replace(good, `"segments":1`, `"segments":-1`, 1),
		"count":     strings.Replace(good, `"segments":1`, `"segments":2`, 1),
		"name":      strings.Replace(good, `seg-000001.wav.age`, `../x`, 1),
		"header":    strings.Replace(good, `age-encryption.org/v1`, `plain`, 1),
	} {
		if _, err := ParseGrant([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
