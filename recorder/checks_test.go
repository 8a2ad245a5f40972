package recorder_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/recordertest"
)

func tone(seconds float64, amp func(i int) int16) []byte {
	n := int(seconds * 16000)
	b := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(amp(i)))
	}
	return b
}

func TestMicCheckStates(t *testing.T) {
	quietThenSpeech := func(i int) int16 {
		if i < 16000 {
			return int16(i%3 - 1) // about -90 dBFS
		}
		return int16((i % 64) * 300)
	}
	tests := []struct {
		name    string
		pcm     []byte
		unplug  bool
		want    room.CheckState
		hasHint bool
	}{
		{"good", tone(4.5, quietThenSpeech), false, room.CheckGood, false},
		{"noisy room", tone(4.5, func(i int) int16 { return int16((i % 50) * 100) }), false, room.CheckAbnormal, true},
		{"clipping", tone(4.5, func(i int) int16 {
			if i > 16000 && i%10 == 0 {
				return 32767
			}
			return quietThenSpeech(i)
		}), false, room.CheckAbnormal, true},
		{"nobody spoke", tone(4.5, func(int) int16 { return 0 }), false, room.CheckUnknown, true},
		// People talk from the first moment; a pause of 200 ms after 3 s
		// shows the floor (the first second alone would be "noisy").
		{"talking with a pause", tone(4.5, func(i int) int16 {
			if i >= 48000 && i < 51200 {
				return int16(i%3 - 1)
			}
			return int16((i % 64) * 300)
		}), false, room.CheckGood, false},
		{"no device", nil, true, room.CheckAbnormal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := recorder.Default()
			cfg.MicSpeechFor.Duration = 900 * time.Millisecond
			src := &recordertest.Source{PCM: tt.pcm, Chunk: 1600}
			if tt.unplug {
				src.Unplug()
			}
			res := (&recorder.MicCheck{Config: cfg, Source: src}).Run(context.Background())
			if res.Name != "microphone" || res.State != tt.want || (res.Hint != "") != tt.hasHint || res.At.IsZero() {
				t.Fatalf("%+v", res)
			}
			if src.IsOpen() {
				t.Fatal("device left open")
			}
		})
	}
}

func TestStorageCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name  string
		spool string
		free  uint64
		want  room.CheckState
	}{
		{"room for a session", filepath.Join(dir, "spool"), 10 << 30, room.CheckGood},
		{"full", filepath.Join(dir, "spool"), 100 << 20, room.CheckAbnormal},
		{"not writable", filepath.Join(file, "spool"), 10 << 30, room.CheckAbnormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := recorder.Default()
			cfg.SpoolDir = tt.spool
			c := &recorder.StorageCheck{Config: cfg, FreeSpace: func(string) (uint64, error) { return tt.free, nil }}
			res := c.Run(context.Background())
			if res.Name != "storage" || res.State != tt.want || (tt.want != room.CheckGood && res.Hint == "") || res.At.IsZero() {
				t.Fatalf("%+v", res)
			}
		})
	}
}

// Presence says people are in the room (outside a session): the check
// judges only that the device opens and delivers audio, and reports the
// levels without a noise or clipping verdict, so people talking never make
// the door Out of service.
func TestMicCheckOccupiedRoom(t *testing.T) {
	loud := tone(4.5, func(i int) int16 {
		if i%10 == 0 {
			return 32767
		}
		return int16((i % 50) * 400)
	})
	for _, occupied := range []bool{true, false} {
		cfg := recorder.Default()
		src := &recordertest.Source{PCM: loud, Chunk: 1600}
		res := (&recorder.MicCheck{Config: cfg, Source: src, Occupied: func() bool { return occupied }}).Run(context.Background())
		switch {
		case occupied && (res.State != room.CheckGood || !strings.Contains(res.Value, "occupied")):
			t.Errorf("occupied room: %+v", res)
		case !occupied && res.State != room.CheckAbnormal:
			t.Errorf("empty room with a loud, clipping microphone: %+v", res)
		}
	}
	// A dead microphone is still a fault with people in the room.
	src := &recordertest.Source{Chunk: 1600}
	src.Unplug()
	if res := (&recorder.MicCheck{Config: recorder.Default(), Source: src, Occupied: func() bool { return true }}).Run(context.Background()); res.State != room.CheckAbnormal {
		t.Errorf("unplugged microphone in an occupied room: %+v", res)
	}
}

// Rounds after the first overwrite the same probe file: no round creates
// or removes a file (each would be journal metadata on the SD card), and a
// probe that cannot be written still fails the check.
func TestStorageProbeReused(t *testing.T) {
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	c := &recorder.StorageCheck{Config: cfg, FreeSpace: func(string) (uint64, error) { return 10 << 30, nil }}
	var inodes []uint64
	for range 3 {
		if res := c.Run(context.Background()); res.State != room.CheckGood {
			t.Fatalf("%+v", res)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(cfg.SpoolDir, ".probe"), &st); err != nil {
			t.Fatalf("probe file after a round: %v", err)
		}
		inodes = append(inodes, st.Ino)
	}
	if inodes[0] != inodes[1] || inodes[1] != inodes[2] {
		t.Fatalf("probe inodes %v: a new file each round", inodes)
	}
	// A probe path that is a folder cannot be written.
	os.Remove(filepath.Join(cfg.SpoolDir, ".probe"))
	os.Mkdir(filepath.Join(cfg.SpoolDir, ".probe"), 0o700)
	if res := c.Run(context.Background()); res.State != room.CheckAbnormal || res.Value != "spool not writable" {
		t.Fatalf("unwritable probe: %+v", res)
	}
}
