package config

import (
	"strings"
	"testing"
)

// TestTechnicians: [[technicians]] like [[counselors]]: optional, ids
// distinct from the counselors', hashes with the same strength floor.
func TestTechnicians(t *testing.T) {
	const good = "$2a$10$PZ.nXOy6P.m41gV7wawmGuUgBLLxTK23nT6JAFlBiKk.15jkXBGTq"
	const weak = "$2a$04$PZ.nXOy6P.m41gV7wawmGuUgBLLxTK23nT6JAFlBiKk.15jkXBGTq"
	tests := []struct {
		name, extra, want string
	}{
		{"none", "", ""},
		{"one", "\n[[technicians]]\nid = \"t-1\"\npin_hash = \"" + good + "\"\n", ""},
		{"a counselor's id", "\n[[technicians]]\nid = \"c-1\"\npin_hash = \"" + good + "\"\n", "technicians[0].id"},
		{"weak hash", "\n[[technicians]]\nid = \"t-1\"\npin_hash = \"" + weak + "\"\n", "technicians[0].pin_hash (technician \"t-1\")"},
		{"plain PIN", "\n[[technicians]]\nid = \"t-1\"\npin_hash = \"5678\"\n", "technicians[0].pin_hash"},
		{"unknown key", "\n[[technicians]]\nid = \"t-1\"\npin = \"5678\"\npin_hash = \"" + good + "\"\n", "unknown key technicians.pin"},
	}
	for _, tc := range tests {
		c, err := Parse([]byte(validConfig(t) + tc.extra))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		case tc.want == "" && tc.extra != "" && (len(c.Technicians) != 1 || c.Technicians[0].ID != "t-1"):
			t.Errorf("%s: technicians %+v", tc.name, c.Technicians)
		}
	}
}
