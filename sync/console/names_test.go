package console_test

import (
	"testing"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/hardware/checks"
	"roomkiosk/hardware/sim"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/recorder"
	"roomkiosk/sync/console"
	"roomkiosk/sync/store/memstore"
	"roomkiosk/sync/upload"
)

// deviceCheckNames builds the checks a daemon runs, from the packages that
// define them (as cmd/roomkiosk's allChecks puts them together: the board's
// and the system's, the recorder's, the uploader's, the bookings feed's and
// the maintenance book's reported_problem), and returns their names.
func deviceCheckNames(t *testing.T) []string {
	t.Helper()
	sb := sim.New(hardware.Default().Sim, zerolog.Nop())
	t.Cleanup(func() { sb.Close() })
	list := checks.Builtin(checks.Default(), sb.Board())
	list = append(list, &recorder.MicCheck{}, &recorder.StorageCheck{})
	ucfg := upload.Default()
	ucfg.Endpoint, ucfg.CredentialsFile = "http://127.0.0.1:1", "/nonexistent"
	u, err := upload.New(ucfg, "101", "kiosk-101", t.TempDir(), t.TempDir(), zerolog.Nop(), upload.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range u.Checks() {
		list = append(list, c)
	}
	l, err := checks.OpenLog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	book, err := checks.OpenBook(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	list = append(list, book.Check())
	names := []string{bookings.CheckName} // the feed's check needs a feed; its name is this constant
	for _, c := range list {
		names = append(names, c.Name())
	}
	return names
}

// TestEveryCheckHasAName: every check a device can report has a name in
// each of the console's languages, so no page shows a check by its code.
func TestEveryCheckHasAName(t *testing.T) {
	names := deviceCheckNames(t)
	if len(names) < 14 {
		t.Fatalf("only %d checks found: %v", len(names), names)
	}
	for _, lang := range console.Languages {
		for _, n := range names {
			if !console.CatalogHas(lang, "check."+n) {
				t.Errorf("%s: check %q has no name", lang, n)
			}
		}
	}
}

// TestPlurals: a count of one reads in the singular in English; Chinese
// has one form.
func TestPlurals(t *testing.T) {
	for _, tc := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", "fleet.summary", []any{"total", 1, "insession", 0, "recording", 0, "failing", 0, "stale", 0}, "1 room · 0 in session · 0 recording · 0 with failing checks · 0 stale"},
		{"en", "fleet.summary", []any{"total", 3, "insession", 1, "recording", 1, "failing", 1, "stale", 1}, "3 rooms · 1 in session · 1 recording · 1 with failing checks · 1 stale"},
		{"en", "fleet.tampered", []any{"n", 1}, "1 tampered session"},
		{"en", "fleet.tampered", []any{"n", 2}, "2 tampered sessions"},
		{"en", "chart.points", []any{"n", 1}, "1 measurement"},
		{"en", "chart.points", []any{"n", 0}, "0 measurements"},
		{"en", "ago.d", []any{"n", 1}, "1 day ago"},
		{"en", "audit.objects", []any{"n", 1}, "1 object"},
		{"zh", "fleet.summary", []any{"total", 1, "insession", 0, "recording", 0, "failing", 0, "stale", 0}, "共 1 间 · 0 间咨询中 · 0 间录音中 · 0 间检查异常 · 0 间失联"},
		{"zh", "fleet.tampered", []any{"n", 1}, "1 个会话被篡改"},
	} {
		if got := console.Tr(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("%s %s %v: %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
		}
	}
}
