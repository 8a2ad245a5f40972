package layout

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeysBothWays(t *testing.T) {
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	started := time.Date(2026, 11, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600)) // folder day is UTC
	sid := "20261102T140405Z-abc123"
	at := time.Date(2026, 11, 2, 9, 8, 7, 123456789, time.UTC)
	for _, tc := range []struct {
		key  string
		want Key
	}{
		{SegmentKey("101", started, sid, "seg-000003.wav.age"), Key{Kind: KindSegment, Room: "101", Day: day, Session: sid, Name: "seg-000003.wav.age", Segment: 3}},
		{ManifestKey("101", started, sid), Key{Kind: KindManifest, Room: "101", Day: day, Session: sid, Name: "manifest.json"}},
		{SummaryKey("a-b_C", started, sid), Key{Kind: KindSummary, Room: "a-b_C", Day: day, Session: sid, Name: "summary.json"}},
		{LegacyTombstoneKey("101", started, sid), Key{Kind: KindLegacyTombstone, Room: "101", Day: day, Session: sid, Name: "deleted.json"}},
		{TombstoneKey("101", sid), Key{Kind: KindTombstone, Room: "101", Session: sid}},
		{DeletionKey("101", sid), Key{Kind: KindDeletion, Room: "101", Session: sid}},
		{StatusKey("101"), Key{Kind: KindStatus, Room: "101"}},
		{LogDayKey("101", day), Key{Kind: KindLogDay, Room: "101", Day: day}},
		{LogSnapshotKey("101", day, 4096), Key{Kind: KindLogSnapshot, Room: "101", Day: day, Upto: 4096}},
		{ProbeKey("101", "kiosk-1"), Key{Kind: KindProbe, Room: "101", Device: "kiosk-1"}},
		{AuditKey(at, "pull", "ABCDEFG2"), Key{Kind: KindAudit, Day: day, At: at, Action: "pull", Nonce: "ABCDEFG2"}},
		{RetentionPolicyKey, Key{Kind: KindRetentionPolicy}},
		{HoldKey("101", sid), Key{Kind: KindHold, Room: "101", Session: sid}},
		{ExtensionKey("101", sid), Key{Kind: KindExtension, Room: "101", Session: sid}},
		{ErasureKey("101", sid), Key{Kind: KindErasure, Room: "101", Session: sid}},
		{DisposalKey("101", sid), Key{Kind: KindDisposal, Room: "101", Session: sid}},
		{CertificateKey("101", sid), Key{Kind: KindCertificate, Room: "101", Session: sid}},
	} {
		// The literal spelling is asserted once here, so a change to the
		// layout is a visible change to this test.
		got, err := Parse(tc.key)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.key, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.key, got, tc.want)
		}
		if s := got.String(); s != tc.key {
			t.Errorf("Parse(%q).String() = %q", tc.key, s)
		}
		if got.Kind.InSession() != strings.Contains(tc.key, "/sessions/") {
			t.Errorf("%s: InSession %v", tc.key, got.Kind.InSession())
		}
	}
}

func TestKeySpelling(t *testing.T) {
	started := time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	sid := "20261102T150405Z-abc123"
	for got, want := range map[string]string{
		ManifestKey("101", started, sid):      "rooms/101/sessions/2026/11/02/20261102T150405Z-abc123/manifest.json",
		DeletionKey("101", sid):               "rooms/101/deletions/20261102T150405Z-abc123.json",
		StatusKey("101"):                      "rooms/101/status.json",
		LogDayKey("101", started):             "rooms/101/checks/2026/11/2026-11-02.jsonl",
		LogSnapshotKey("101", started, 77):    "rooms/101/checks/2026/11/2026-11-02.upto-77.jsonl",
		ProbeKey("101", "d1"):                 "rooms/101/probe/d1",
		AuditKey(started, "pull", "AAAAAAAA"): "audit/2026/11/02/20261102T150405.000000000Z-pull-AAAAAAAA.json",
		RoomPrefix("101"):                     "rooms/101/",
		HoldKey("101", sid):                   "admin/holds/101/20261102T150405Z-abc123.json",
		CertificateKey("101", sid):            "audit/certificates/101/20261102T150405Z-abc123.json",
		DisposalKey("101", sid):               "admin/disposals/101/20261102T150405Z-abc123.json",
		RetentionPolicyKey:                    "admin/retention.json",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	sid := "20261102T150405Z-abc123"
	for _, key := range []string{
		"",
		"rooms/",
		"rooms/101",
		"rooms/101/",
		"other/101/status.json",
		"/rooms/101/status.json",
		"rooms//status.json",
		"rooms/../status.json",
		"rooms/101/../102/status.json",
		"rooms/1 01/status.json",
		"rooms/101\x1b[2J/status.json",
		"rooms/" + strings.Repeat("a", 65) + "/status.json",
		"rooms/101/status.json/",
		"rooms/101/status.json.bak",
		"rooms/101/sessions/2026/11/02/" + sid,
		"rooms/101/sessions/2026/11/02/" + sid + "/",
		"rooms/101/sessions/2026/11/02/" + sid + "/notes.txt",
		"rooms/101/sessions/2026/11/02/" + sid + "/../manifest.json",
		"rooms/101/sessions/2026/13/02/" + sid + "/manifest.json",
		"rooms/101/sessions/2026/11/2/" + sid + "/manifest.json",
		"rooms/101/sessions/2026/11/02/20261102T150405Z-ABC123/manifest.json",
		"rooms/101/sessions/2026/11/02/" + sid + "x/manifest.json",
		"rooms/101/sessions/2026/11/02/" + sid + "/seg-000000.wav.age",
		"rooms/101/sessions/2026/11/02/" + sid + "/seg-1.wav.age",
		"rooms/101/sessions/2026/11/02/" + sid + "/seg-000001.wav.age\n",
		"rooms/101/sessions/2026/11/02/x/" + sid + "/manifest.json",
		"rooms/101/deletions/" + sid,
		"rooms/101/deletions/" + sid + ".json/x",
		"rooms/101/deletions/../" + sid + ".json",
		"rooms/101/deletions/not-a-session.json",
		"rooms/101/checks/2026/11/2026-12-02.jsonl",
		"rooms/101/checks/2026/11/2026-11-32.jsonl",
		"rooms/101/checks/2026/11/2026-11-02.upto-0.jsonl",
		"rooms/101/checks/2026/11/2026-11-02.upto--1.jsonl",
		"rooms/101/checks/2026/11/2026-11-02.upto-99999999999999999999.jsonl",
		"rooms/101/probe/",
		"rooms/101/probe/a/b",
		"rooms/101/probe/..",
		"audit/2026/11/02/x.json",
		"audit/2026/11/03/20261102T150405.000000000Z-pull-AAAAAAAA.json",
		"audit/2026/11/02/20261102T150405.000000000Z-Pull-AAAAAAAA.json",
		"audit/2026/11/02/20261102T150405.000000000Z-pull-aaaaaaaa.json",
		"audit/2026/11/02/../20261102T150405.000000000Z-pull-AAAAAAAA.json",
		"rooms/101/" + strings.Repeat("x/", 300),
		"admin/tombstones/101/x.json",
		"admin/tombstones/101/" + sid,
		"admin/tombstones/../101/" + sid + ".json",
		"admin/tombstones/101/" + sid + ".json/x",
		"admin/other/101/" + sid + ".json",
		"admin/",
		"admin/holds/101/x.json",
		"admin/holds/../" + sid + ".json",
		"admin/holds/101/" + sid + ".json/x",
		"admin/disposals/101/a/" + sid + ".json",
		"audit/certificates/101/" + sid,
		"audit/certificates/" + sid + ".json",
		"admin/retention.json/x",
	} {
		k, err := Parse(key)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", key, k)
			continue
		}
		if !errors.Is(err, ErrNotAKey) {
			t.Errorf("Parse(%q): %v does not wrap ErrNotAKey", key, err)
		}
	}
}

// TestDeviceWritable: the kinds a device's policy lets it write are exactly
// those under its room's prefix; admin records are not.
func TestDeviceWritable(t *testing.T) {
	for k := KindSegment; k <= KindCertificate; k++ {
		want := k != KindAudit && k != KindTombstone && k < KindRetentionPolicy
		if k.DeviceWritable() != want {
			t.Errorf("%v: DeviceWritable %v", k, k.DeviceWritable())
		}
	}
	if KindInvalid.DeviceWritable() {
		t.Error("invalid kind writable")
	}
}

func TestParseRoomPrefix(t *testing.T) {
	for in, want := range map[string]string{"rooms/101/": "101", "rooms/101": "", "rooms/../": "", "rooms/a/b/": "", "audit/": "", "rooms/\x07/": ""} {
		got, ok := ParseRoomPrefix(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseRoomPrefix(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestLogFileName(t *testing.T) {
	d := time.Date(2026, 1, 9, 23, 0, 0, 0, time.UTC)
	if n := LogFileName(d); n != "2026-01-09.jsonl" {
		t.Fatalf("LogFileName = %q", n)
	}
	got, ok := ParseLogFileName("2026-01-09.jsonl")
	if !ok || !got.Equal(time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("ParseLogFileName = %v, %v", got, ok)
	}
	for _, bad := range []string{"2026-01-09.upto-5.jsonl", "2026-1-09.jsonl", "x.jsonl", "2026-01-09.jsonl.tmp"} {
		if _, ok := ParseLogFileName(bad); ok {
			t.Errorf("ParseLogFileName(%q) accepted", bad)
		}
	}
}

// TestLogDayPrefixSortsBeforeItsDay: roomctl's check log lists starting
// after LogDayPrefix(since); every key of that day and later must follow
// it, every key of the day before must not.
func TestLogDayPrefixSortsBeforeItsDay(t *testing.T) {
	day := time.Date(2026, 11, 2, 23, 30, 0, 0, time.FixedZone("CET", 3600)) // UTC day 2026-11-02
	p := LogDayPrefix("101", day)
	if p != "rooms/101/checks/2026/11/2026-11-02" {
		t.Fatalf("LogDayPrefix = %q", p)
	}
	prev, next := day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
	for _, tc := range []struct {
		key   string
		after bool
	}{
		{LogDayKey("101", day), true},
		{LogSnapshotKey("101", day, 1), true},
		{LogSnapshotKey("101", day, 999999), true},
		{LogDayKey("101", next), true},
		{LogDayKey("101", prev), false},
		{LogSnapshotKey("101", prev, 999999), false},
	} {
		if got := tc.key > p; got != tc.after {
			t.Errorf("%s after %s: %v, want %v", tc.key, p, got, tc.after)
		}
		if tc.key > p && strings.HasPrefix(tc.key, p) != (tc.key != LogDayKey("101", next)) {
			t.Errorf("%s: prefix %s", tc.key, p)
		}
	}
}

// TestSessionsPattern: the readers' policy pattern is spelled as the keys
// it must match.
func TestSessionsPattern(t *testing.T) {
	if SessionsPattern != "rooms/*/sessions/*" {
		t.Errorf("SessionsPattern = %q", SessionsPattern)
	}
	key := ManifestKey("101", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), "20261102T000000Z-abc123")
	if !strings.HasPrefix(key, RoomsPrefix) || !strings.Contains(key, "/"+sessionsDir+"/") {
		t.Errorf("%s does not match %s", key, SessionsPattern)
	}
}
