package segment

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"filippo.io/age"
)

func testHeader() Header {
	return Header{SampleRate: 16000, Channels: 1, Index: 3, StartFrame: 960000,
		Started: time.Date(2026, 11, 2, 15, 4, 5, 123456789, time.UTC), SessionID: "20261102T150405Z-abc123"}
}

func encrypt(t *testing.T, h Header, pcm []byte, id *age.X25519Identity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	// Write in capture-sized pieces, as the recorder does.
	for p := pcm; len(p) > 0; {
		n := min(len(p), 3200)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Frames() != int64(len(pcm)/2) {
		t.Fatalf("frames %d, want %d", w.Frames(), len(pcm)/2)
	}
	if w.CipherBytes() != int64(buf.Len()) {
		t.Fatalf("cipher bytes %d, file %d", w.CipherBytes(), buf.Len())
	}
	return buf.Bytes()
}

func TestHeaderRoundTrip(t *testing.T) {
	h := testHeader()
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("got %+v, want %+v", got, h)
	}
}

func TestHeaderRejects(t *testing.T) {
	good, _ := testHeader().MarshalBinary()
	tests := []struct {
		name string
		mut  func(b []byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:50] }},
		{"not riff", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"no rksg", func(b []byte) []byte { b[36] = 'x'; return b }},
		{"future version", func(b []byte) []byte { b[44] = 9; return b }},
		{"3 channels", func(b []byte) []byte { b[22] = 3; return b }},
		{"8 bits", func(b []byte) []byte { b[34] = 8; return b }},
		{"zero index", func(b []byte) []byte { copy(b[48:52], []byte{0, 0, 0, 0}); return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mut(bytes.Clone(good))
			if _, err := ParseHeader(b); !errors.Is(err, ErrHeader) {
				t.Fatalf("err = %v, want ErrHeader", err)
			}
		})
	}
}

func randomPCM(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func TestOpen(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	pcm := randomPCM(5*ChunkSize + 1234)
	ct := encrypt(t, testHeader(), pcm, id)
	payloadStart := len(ct) - (len(pcm) + HeaderSize + 6*ChunkOverhead) // where chunk 0 begins

	tests := []struct {
		name     string
		cut      int // ciphertext length kept
		wantPCM  int
		wantErr  error
		wantTorn bool
	}{
		{"complete", len(ct), len(pcm), nil, false},
		{"chunk boundary", payloadStart + 3*(ChunkSize+ChunkOverhead), 3*ChunkSize - HeaderSize, ErrTruncated, false},
		{"torn", payloadStart + 3*(ChunkSize+ChunkOverhead) + 999, 3*ChunkSize - HeaderSize, ErrTruncated, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, r, err := Open(bytes.NewReader(ct[:tt.cut]), id)
			if err != nil {
				t.Fatal(err)
			}
			if h != testHeader() {
				t.Fatalf("header %+v", h)
			}
			got, err := io.ReadAll(r)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("read: %v", err)
			}
			if tt.wantErr != nil {
				var ee *EndError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &ee) || ee.Torn != tt.wantTorn || ee.PCMBytes != int64(tt.wantPCM) {
					t.Fatalf("err = %#v, want %v torn=%v", err, tt.wantErr, tt.wantTorn)
				}
			}
			if !bytes.Equal(got, pcm[:tt.wantPCM]) {
				t.Fatalf("PCM: got %d bytes, want the first %d of the source", len(got), tt.wantPCM)
			}
			n, err := PCMSize(bytes.NewReader(ct), int64(tt.cut), tt.wantErr == nil)
			if err != nil || n != int64(tt.wantPCM) {
				t.Fatalf("PCMSize = %d, %v; want %d", n, err, tt.wantPCM)
			}
		})
	}

	t.Run("corrupt middle chunk", func(t *testing.T) {
		bad := bytes.Clone(ct)
		bad[payloadStart+2*(ChunkSize+ChunkOverhead)+10] ^= 1
		_, r, err := Open(bytes.NewReader(bad), id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if !errors.Is(err, ErrCorrupt) || len(got) != 2*ChunkSize-HeaderSize {
			t.Fatalf("err = %v after %d bytes", err, len(got))
		}
	})
	t.Run("cut inside first chunk", func(t *testing.T) {
		_, _, err := Open(bytes.NewReader(ct[:payloadStart+100]), id)
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		other, _ := age.GenerateX25519Identity()
		_, _, err := Open(bytes.NewReader(ct), other)
		var nm *age.NoIdentityMatchError
		if !errors.As(err, &nm) {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	good, _ := testHeader().MarshalBinary()
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to the same header.
		b2, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header does not marshal: %v", err)
		}
		h2, err := ParseHeader(b2)
		if err != nil || h2 != h {
			t.Fatalf("round trip: %+v vs %+v (%v)", h, h2, err)
		}
	})
}
