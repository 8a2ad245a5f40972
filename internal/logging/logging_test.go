package logging

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		level   string
		wantErr bool
		logged  bool // an info line is written
	}{
		{"debug", false, true},
		{"info", false, true},
		{"warn", false, false},
		{"loud", true, false},
		{"", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, tt.level)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.level, err, tt.wantErr)
			}
			log.Info().Str("session", "s-1").Msg("hello")
			if got := buf.Len() > 0; got != tt.logged {
				t.Fatalf("logged = %v, want %v (%q)", got, tt.logged, buf.String())
			}
			if !tt.logged {
				return
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("not a JSON line (a buffer is not a terminal): %v: %q", err, buf.String())
			}
			if line["session"] != "s-1" || line["message"] != "hello" || line["time"] == nil {
				t.Fatalf("unexpected fields: %v", line)
			}
		})
	}
}
