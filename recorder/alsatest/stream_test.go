package alsatest_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"roomkiosk/recorder/alsatest"
)

// TestSpans: captured audio is located in the fed stream run by run, across
// silences, with a short tail that continues its run; audio that was never
// fed, or that comes earlier in the stream than the run before it, is an
// error. (The stream is random bytes here: Spans needs only that any 512
// bytes of it occur once, which SpeechStream's dither gives speech.)
func TestSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	stream := make([]byte, 64<<10)
	for i := range stream {
		stream[i] = byte(rng.IntN(255) + 1) // no zero sample inside the stream
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	for _, tt := range []struct {
		name    string
		pcm     []byte
		want    []alsatest.Span
		wantErr string
	}{
		{"start-up zeros, a run", cat(zeros(100), stream[1000:5000]), []alsatest.Span{{At: 100, Offset: 1000, Len: 4000}}, ""},
		{"a gap of silence", cat(stream[0:2000], zeros(640), stream[9000:12000]),
			[]alsatest.Span{{At: 0, Offset: 0, Len: 2000}, {At: 2640, Offset: 9000, Len: 3000}}, ""},
		{"a short tail continuing its run", cat(stream[0:2000], zeros(2), stream[2002:2100]),
			[]alsatest.Span{{At: 0, Offset: 0, Len: 2000}, {At: 2002, Offset: 2002, Len: 98}}, ""},
		{"a short tail from elsewhere", cat(stream[0:2000], zeros(2), stream[8000:8100]), nil, "neither fed audio nor silence"},
		{"audio never fed", cat(stream[0:2000], []byte(strings.Repeat("\x01\x02", 600))), nil, "nowhere later in the fed stream"},
		{"a run earlier than the one before", cat(stream[9000:12000], zeros(2), stream[1000:3000]), nil, "nowhere later in the fed stream"},
		{"silence only", zeros(4096), nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := alsatest.Spans(stream, tt.pcm)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Spans = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
