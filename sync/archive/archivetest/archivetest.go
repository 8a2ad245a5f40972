// Package archivetest builds realistic recorded sessions (segments written
// with the recorder's own segment writer, a valid manifest) and uploads them
// the way the kiosk's uploader lays them out, for the admin tool's tests and
// benchmarks.
package archivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
	"roomkiosk/sync/layout"
)

// SegSpec is one segment to make.
type SegSpec struct {
	Frames   int64
	Partial  bool  // left unclosed, as a power cut leaves a .part: no final chunk
	Torn     bool  // Partial, and the file also ends inside a chunk (a cut write)
	GapAfter int64 // frames not recorded after this segment (device lost)
}

// Spec describes a session.
type Spec struct {
	Room      string
	ID        string    // default: from Started
	Started   time.Time // default: 2026-11-02T15:04:05Z
	Rate      int       // default 16000
	Channels  int       // default 1
	Segments  []SegSpec
	Withdrawn bool
	Seed      uint64
	// EncryptedTo is recorded in the manifest (the roles the recipients
	// given to Build hold: recorder.Keyring.For gives both).
	EncryptedTo []manifest.Access
	Counselor   string // default c-1
}

// Session is a built session: what was uploaded and what a pull must give.
type Session struct {
	Manifest *manifest.Manifest
	Files    map[string][]byte // segment name -> ciphertext
	// WantPCM is the PCM a correct pull yields: every segment's recoverable
	// audio, with silence for gaps and lost tails.
	WantPCM []byte
	Prefix  string // rooms/<room>/sessions/yyyy/mm/dd/<id>/
}

// Speechlike returns frames of deterministic audio: a few drifting tones
// with noise, never constant, so misplaced or dropped samples show.
func Speechlike(frames int64, channels int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]byte, 0, frames*int64(channels)*2)
	for i := range frames {
		t := float64(i) / 16000
		v := 6000*math.Sin(2*math.Pi*(180+40*math.Sin(t))*t) + 2500*math.Sin(2*math.Pi*1230*t) + float64(r.IntN(2000)-1000)
		for range channels {
			s := int16(v)
			out = append(out, byte(s), byte(uint16(s)>>8))
		}
	}
	return out
}

// Build makes the segments and manifest of spec, encrypted to recipients.
func Build(t testing.TB, spec Spec, recipients ...age.Recipient) *Session {
	t.Helper()
	if spec.Started.IsZero() {
		spec.Started = time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	}
	if spec.ID == "" {
		spec.ID = spec.Started.UTC().Format("20060102T150405Z") + "-abc123"
	}
	if spec.Rate == 0 {
		spec.Rate = 16000
	}
	if spec.Channels == 0 {
		spec.Channels = 1
	}
	fb := int64(spec.Channels * 2)
	if spec.Counselor == "" {
		spec.Counselor = "c-1"
	}
	m := &manifest.Manifest{
		Version: manifest.Version, SessionID: spec.ID, RoomID: spec.Room, DeviceID: spec.Room, CounselorID: spec.Counselor,
		EncryptedTo: spec.EncryptedTo,
		Format:      manifest.Format{Codec: manifest.Codec, SampleRate: spec.Rate, Channels: spec.Channels, Bits: 16},
		Started:     spec.Started, Withdrawn: spec.Withdrawn, StopReason: "end", Gaps: []manifest.Gap{},
	}
	if spec.Withdrawn {
		m.StopReason = "withdrawn"
	}
	personal, err := manifest.SealPersonal(manifest.Personal{Consent: room.ConsentRecord{
		AgreementID: "rec-2026-01", TextSHA256: hex.EncodeToString(make([]byte, 32)), Language: "en",
		Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: spec.Started}},
	}}, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	m.Personal = personal
	s := &Session{Manifest: m, Files: map[string][]byte{}}
	var recorded, gapTotal int64
	for i, ss := range spec.Segments {
		idx := i + 1
		pcm := Speechlike(ss.Frames, spec.Channels, spec.Seed+uint64(idx))
		hdr := segment.Header{SampleRate: spec.Rate, Channels: spec.Channels, Index: idx, StartFrame: recorded,
			Started:   spec.Started.Add(time.Duration(recorded+gapTotal) * time.Second / time.Duration(spec.Rate)),
			SessionID: spec.ID}
		var ct bytes.Buffer
		w, err := segment.NewWriter(&ct, hdr, recipients...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pcm); err != nil {
			t.Fatal(err)
		}
		partial := ss.Partial || ss.Torn
		if !partial {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		b := ct.Bytes()
		if ss.Torn {
			// Half of a next chunk reached the disk before the cut.
			b = append(b, bytes.Repeat([]byte{0x5a}, 3000)...)
		}
		samples := ss.Frames
		if partial {
			n, err := segment.PCMSize(bytes.NewReader(b), int64(len(b)), false)
			if err != nil {
				t.Fatal(err)
			}
			samples = n / fb
		}
		sum := sha256.Sum256(b)
		name := manifest.SegmentName(idx, segment.Ext)
		m.Segments = append(m.Segments, manifest.Segment{Name: name, Index: idx, Samples: samples,
			Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Partial: partial})
		s.Files[name] = b
		s.WantPCM = append(s.WantPCM, pcm[:samples*fb]...)
		// The lost tail of a partial segment comes back as silence when
		// audio follows it.
		if i < len(spec.Segments)-1 && samples < ss.Frames {
			s.WantPCM = append(s.WantPCM, make([]byte, (ss.Frames-samples)*fb)...)
		}
		if ss.GapAfter > 0 {
			m.Gaps = append(m.Gaps, manifest.Gap{AfterSegment: idx, Frames: ss.GapAfter,
				DurationNS: ss.GapAfter * int64(time.Second) / int64(spec.Rate), Reason: "mic_lost"})
			s.WantPCM = append(s.WantPCM, make([]byte, ss.GapAfter*fb)...)
			gapTotal += ss.GapAfter
		}
		recorded += ss.Frames
		if partial {
			m.Interrupted = true
			m.StopReason = "recovered"
		}
	}
	m.DurationNS = (recorded + gapTotal) * int64(time.Second) / int64(spec.Rate)
	m.Ended = spec.Started.Add(time.Duration(m.DurationNS))
	s.Prefix = layout.SessionPrefix(spec.Room, spec.Started, spec.ID)
	return s
}

// Upload puts the segments, then the manifest, as the uploader does.
func (s *Session) Upload(t testing.TB, cl *minio.Client, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	put := func(key string, b []byte) {
		if _, err := cl.PutObject(ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatalf("archivetest: put %s: %v", key, err)
		}
	}
	for _, seg := range s.Manifest.Segments {
		put(s.Prefix+seg.Name, s.Files[seg.Name])
	}
	mb, err := s.Manifest.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	put(s.Prefix+manifest.FileName, mb)
}
