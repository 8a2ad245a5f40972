//go:build bench

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/cmd/roomkiosk/config"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
)

// outcome counts how a loader took a batch of bad inputs.
type outcome struct {
	n, crashed, accepted, unclear int
	examples                      []string
}

// feed runs load on one bad input; want is a fragment the error must hold
// (the key or field it names, or what kind of problem it is).
func (o *outcome) feed(t *testing.T, what, want string, load func() error) {
	t.Helper()
	o.n++
	var err error
	crashed := func() (crashed bool) {
		defer func() {
			if r := recover(); r != nil {
				crashed = true
				t.Errorf("%s: loader panicked: %v", what, r)
			}
		}()
		err = load()
		return false
	}()
	switch {
	case crashed:
		o.crashed++
	case err == nil:
		o.accepted++
		t.Errorf("%s: accepted", what)
	case !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)):
		o.unclear++
		t.Errorf("%s: error %q does not name %q", what, err, want)
	default:
		if len(o.examples) < 3 {
			o.examples = append(o.examples, err.Error())
		}
	}
}

func (o *outcome) report(t *testing.T, name, loader string) {
	t.Helper()
	bad := o.crashed + o.accepted + o.unclear
	ex := make([]string, len(o.examples))
	for i, e := range o.examples {
		e = strings.Join(strings.Fields(e), " ")
		if len(e) > 140 {
			e = e[:140] + "…"
		}
		ex[i] = e
	}
	testenv.Report(t, testenv.Figure{
		Name: name, Value: float64(o.n - bad), Unit: "inputs",
		Baseline: "malformed inputs fed to " + loader, BaseVal: float64(o.n), Ratio: float64(o.n-bad) / float64(o.n),
		Target: "= 1 (each rejected with an error naming the problem)", Met: bad == 0,
		Note: fmt.Sprintf("crashes %d, accepted %d, unclear errors %d; e.g. %q", o.crashed, o.accepted, o.unclear, strings.Join(ex, " | ")),
	})
}

var tomlKeyLine = regexp.MustCompile(`(?m)^([a-z_]+) = (.+)$`)

// TestBenchMalformedConfig feeds 200 broken device configs, made from the
// shipped development config, to kiosk/config.Parse.
func TestBenchMalformedConfig(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "configs", "dev.toml"))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.ReplaceAll(string(raw), "@DEV_RECIPIENT@", id.Recipient().String())
	if _, err := config.Parse([]byte(base)); err != nil {
		t.Fatalf("the base config does not load: %v", err)
	}
	lines := strings.Split(base, "\n")
	var keyLines []int // lines holding `key = value`
	for i, l := range lines {
		if tomlKeyLine.MatchString(l) && !strings.HasSuffix(l, `"""`) {
			keyLines = append(keyLines, i)
		}
	}
	// Impossible values, each with the key its error must name.
	impossible := []struct{ key, line string }{
		{"sample_rate", "sample_rate = 44100"}, {"channels", "channels = 7"},
		{"segment_length", `segment_length = "0s"`}, {"max_session_length", `max_session_length = "100h"`},
		{"level", `level = "loud"`}, {"backend", `backend = "gpio"`},
		{"endpoint", `endpoint = "ftp://127.0.0.1:9000"`}, {"bucket", `bucket = ""`},
		{"interval", `interval = "1ms"`}, {"listen", `listen = "0.0.0.0:80"`},
		{"spool_dir", `spool_dir = ""`}, {"recipients", `recipients = ["age1notakey"]`},
		{"pin_timeout", `pin_timeout = "-5s"`}, {"languages", `languages = []`},
	}
	rng := rand.New(rand.NewPCG(200, 1))
	var o outcome
	for i := 0; i < 200; i++ {
		ls := append([]string(nil), lines...)
		var what, want string
		switch kind := i % 7; kind {
		case 0: // an unknown key in a random place
			at := keyLines[rng.IntN(len(keyLines))]
			key := fmt.Sprintf("bogus_key_%d", i)
			ls = append(ls[:at+1], append([]string{key + " = 1"}, ls[at+1:]...)...)
			what, want = "unknown key "+key, key
		case 1: // a value of the wrong type
			at := keyLines[rng.IntN(len(keyLines))]
			m := tomlKeyLine.FindStringSubmatch(ls[at])
			v := "12345"
			if !strings.HasPrefix(m[2], `"`) {
				v = `"twelve"`
			}
			ls[at] = m[1] + " = " + v
			what, want = "wrong type for "+m[1], m[1]
		case 2: // an impossible value
			im := impossible[rng.IntN(len(impossible))]
			found := false
			for _, at := range keyLines {
				if strings.HasPrefix(ls[at], im.key+" = ") {
					ls[at], found = im.line, true
					break
				}
			}
			if !found {
				t.Fatalf("dev.toml has no %s", im.key)
			}
			what, want = "impossible "+im.line, im.key
		case 3: // an age secret key pasted anywhere
			at := rng.IntN(len(ls))
			ls = append(ls[:at], append([]string{"# " + strings.ToUpper(id.String())}, ls[at:]...)...)
			what, want = "secret key on line "+fmt.Sprint(at+1), "secret key"
		case 4: // a line cut in the middle of a quoted value
			at := keyLines[rng.IntN(len(keyLines))]
			if j := strings.IndexByte(ls[at], '"'); j >= 0 {
				k := j + 1 + strings.IndexByte(ls[at][j+1:], '"') // the closing quote
				ls[at] = ls[at][:j+1+rng.IntN(max(1, k-j-1))]
				what, want = "unterminated string on line "+fmt.Sprint(at+1), "line"
			} else {
				ls[at] += " ]]"
				what, want = "garbage after a value on line "+fmt.Sprint(at+1), "line"
			}
		case 5: // a key given twice in its table
			at := keyLines[rng.IntN(len(keyLines))]
			m := tomlKeyLine.FindStringSubmatch(ls[at])
			ls = append(ls[:at+1], append([]string{ls[at]}, ls[at+1:]...)...)
			what, want = "duplicate key "+m[1], m[1]
		case 6: // binary junk: the file was overwritten
			junk := make([]byte, 16+rng.IntN(64))
			for j := range junk {
				junk[j] = byte(rng.IntN(256))
			}
			junk[0] = 0 // never valid TOML
			at := rng.IntN(len(ls))
			ls = append(ls[:at], append([]string{string(junk)}, ls[at:]...)...)
			what, want = "binary junk on line "+fmt.Sprint(at+1), "line"
		}
		b := []byte(strings.Join(ls, "\n"))
		o.feed(t, what, want, func() error { _, err := config.Parse(b); return err })
	}
	o.report(t, "malformed configs rejected", "kiosk/config.Parse")
}

// TestBenchCorruptSegments feeds 100 corrupted encrypted segments to the
// segment decoder and 100 corrupted manifests to the manifest parser. A
// truncated segment is readable up to its authenticated prefix by design:
// then the prefix must be exactly the original's and the end an error.
func TestBenchCorruptSegments(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	pcm := alsatest.SpeechStream(t, 5*time.Second, rate)
	h := segment.Header{SampleRate: rate, Channels: 1, Index: 1, Started: time.Now().UTC(), SessionID: "20261127T100000Z-abcdef"}
	var good bytes.Buffer
	w, err := segment.NewWriter(&good, h, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(c []byte, ids ...age.Identity) error {
		_, r, err := segment.Open(bytes.NewReader(c), ids...)
		if err != nil {
			return err
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(r)
		if !bytes.HasPrefix(pcm, got.Bytes()) {
			return errors.New("BAD: decoded audio is not a prefix of the original")
		}
		if err == nil {
			return nil
		}
		return err
	}
	if err := read(good.Bytes(), id); err != nil {
		t.Fatalf("the good segment does not read: %v", err)
	}
	rng := rand.New(rand.NewPCG(100, 2))
	g := good.Bytes()
	hdrLen := bytes.Index(g, []byte("\n---")) + 48 // age header with its MAC line
	var so outcome
	for i := 0; i < 100; i++ {
		c := append([]byte(nil), g...)
		var what, want string
		switch i % 6 {
		case 0:
			p := rng.IntN(hdrLen)
			c[p] ^= 1 << rng.IntN(8)
			what, want = fmt.Sprintf("bit flip in the age header at %d", p), "segment"
		case 1:
			p := hdrLen + rng.IntN(len(c)-hdrLen)
			c[p] ^= 1 << rng.IntN(8)
			what, want = fmt.Sprintf("bit flip in the payload at %d", p), "segment"
		case 2:
			n := rng.IntN(len(c) - 1)
			c = c[:n]
			what, want = fmt.Sprintf("truncated to %d of %d bytes", n, len(g)), "segment"
		case 3:
			p := rng.IntN(len(c) - 64)
			clear(c[p : p+64])
			what, want = fmt.Sprintf("64 zero bytes at %d", p), "segment"
		case 4:
			extra := make([]byte, 1+rng.IntN(100))
			for j := range extra {
				extra[j] = byte(rng.IntN(256))
			}
			c = append(c, extra...)
			what, want = fmt.Sprintf("%d junk bytes appended", len(extra)), "segment"
		case 5:
			so.feed(t, "a segment for another key", "segment", func() error { return read(c, other) })
			continue
		}
		so.feed(t, what, want, func() error { return read(c, id) })
	}
	so.report(t, "corrupted segments rejected", "recorder/segment.Open")

	// Manifests.
	now := time.Now().UTC()
	m := manifest.Manifest{
		Version: manifest.Version, SessionID: "20261127T100000Z-abcdef", RoomID: "101", DeviceID: "101", CounselorID: "c-1",
		Format:  manifest.Format{Codec: manifest.Codec, SampleRate: rate, Channels: 1, Bits: 16},
		Started: now, Ended: now.Add(time.Minute), DurationNS: int64(time.Minute),
		Segments: []manifest.Segment{
			{Name: manifest.SegmentName(1, segment.Ext), Index: 1, Samples: 480000, Bytes: 960300, SHA256: strings.Repeat("ab", 32)},
			{Name: manifest.SegmentName(2, segment.Ext), Index: 2, Samples: 480000, Bytes: 960300, SHA256: strings.Repeat("cd", 32)},
		},
		Gaps: []manifest.Gap{},
	}
	gm, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Parse(gm); err != nil {
		t.Fatalf("the good manifest does not parse: %v", err)
	}
	edits := []struct {
		field string
		edit  func(map[string]any)
	}{
		{"version", func(o map[string]any) { o["version"] = 2 }},
		{"session_id", func(o map[string]any) { o["session_id"] = "../../etc" }},
		{"room_id", func(o map[string]any) { o["room_id"] = "rooms/102" }},
		{"format.codec", func(o map[string]any) { o["format"].(map[string]any)["codec"] = "mp3" }},
		{"format.sample_rate", func(o map[string]any) { o["format"].(map[string]any)["sample_rate"] = 0 }},
		{"format.channels", func(o map[string]any) { o["format"].(map[string]any)["channels"] = 9 }},
		{"format.bits", func(o map[string]any) { o["format"].(map[string]any)["bits"] = 8 }},
		{"started", func(o map[string]any) { delete(o, "started") }},
		{"ended", func(o map[string]any) { o["ended"] = "2001-01-01T00:00:00Z" }},
		{"duration_ns", func(o map[string]any) { o["duration_ns"] = -5 }},
		{"personal", func(o map[string]any) { o["personal"] = "consent: yes" }},
		{"segments[1].name", func(o map[string]any) { seg(o, 1)["name"] = "../seg.wav" }},
		{"segments[0].index", func(o map[string]any) { seg(o, 0)["index"] = 7 }},
		{"segments[0]", func(o map[string]any) { seg(o, 0)["sha256"] = "not hex" }},
		{"segments[1]", func(o map[string]any) { seg(o, 1)["bytes"] = -1 }},
		{"segments[0]", func(o map[string]any) { seg(o, 0)["samples"] = -480000 }},
		{"unknown field", func(o map[string]any) { o["client_name"] = "x" }},
		{"cannot unmarshal", func(o map[string]any) { o["duration_ns"] = "a minute" }},
	}
	var mo outcome
	for i := 0; i < 100; i++ {
		switch {
		case i%4 == 3: // cut short, or trailing data
			var c []byte
			if i%8 == 3 {
				c = gm[:rng.IntN(len(gm)-2)]
				mo.feed(t, fmt.Sprintf("manifest cut at %d of %d", len(c), len(gm)), "manifest", func() error { _, err := manifest.Parse(c); return err })
			} else {
				c = append(append([]byte(nil), gm...), `{"version":1}`...)
				mo.feed(t, "manifest with trailing data", "trailing", func() error { _, err := manifest.Parse(c); return err })
			}
		default:
			e := edits[rng.IntN(len(edits))]
			var o map[string]any
			if err := json.Unmarshal(gm, &o); err != nil {
				t.Fatal(err)
			}
			e.edit(o)
			c, _ := json.Marshal(o)
			mo.feed(t, "manifest with a bad "+e.field, e.field, func() error { _, err := manifest.Parse(c); return err })
		}
	}
	mo.report(t, "corrupted manifests rejected", "recorder/manifest.Parse")
}

func seg(o map[string]any, i int) map[string]any {
	return o["segments"].([]any)[i].(map[string]any)
}
