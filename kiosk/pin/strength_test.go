package pin

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argonHash makes a real argon2id hash of pin with the given parameters.
func argonHash(pin string, m, t uint32) string {
	salt := []byte("saltsaltsaltsalt")
	key := argon2.IDKey([]byte(pin), salt, t, m, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=1$%s$%s", m, t, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// TestWeakHashesRefused: a hash below the minimum strength is a config
// error and never verifies, even with the right PIN (issue 13 item 6:
// CheckHash accepted bcrypt cost 4 and argon2id m=1,t=1).
func TestWeakHashesRefused(t *testing.T) {
	bc := func(cost int) string {
		h, err := bcrypt.GenerateFromPassword([]byte("2468"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	tests := []struct {
		name string
		hash string
		ok   bool
		want string // in the error
	}{
		{"bcrypt cost 4", bc(bcrypt.MinCost), false, "cost 4"},
		{"bcrypt cost 9", bc(9), false, "cost 9"},
		{"bcrypt cost 10", bc(10), true, ""},
		{"argon2id m=1 t=1", argonHash("2468", 8, 1), false, "m=8 KiB, t=1"},
		{"argon2id t=1", argonHash("2468", MinArgonMemory, 1), false, "t=1"},
		{"argon2id m=19455", argonHash("2468", MinArgonMemory-1, 2), false, "m=19455"},
		{"argon2id minimum", argonHash("2468", MinArgonMemory, 2), true, ""},
		{"argon2id stronger", argonHash("2468", 32*1024, 3), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHash(tt.hash)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckHash = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "too weak")) {
				t.Errorf("error %q does not say %q is too weak", err, tt.want)
			}
			if got := Verify(tt.hash, "2468"); got != tt.ok {
				t.Errorf("Verify with the right PIN = %v, want %v", got, tt.ok)
			}
		})
	}
}

// TestOwnHashesMeetTheMinimum: what Hash makes passes the floor it enforces.
func TestOwnHashesMeetTheMinimum(t *testing.T) {
	h, err := Hash("246810")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckHash(h); err != nil {
		t.Fatal(err)
	}
	if RecommendedDigits < 6 || Validate(strings.Repeat("1", RecommendedDigits)) != nil {
		t.Errorf("recommended length %d is not a valid, strong length", RecommendedDigits)
	}
}
