package pin

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		pin string
		ok  bool
	}{
		{"1234", true},
		{"12345678", true},
		{"0000", true},
		{"123", false},
		{"123456789", false},
		{"", false},
		{"12a4", false},
		{"12 4", false},
		{"١٢٣٤", false}, // non-ASCII digits
	}
	for _, tt := range tests {
		err := Validate(tt.pin)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.pin, err, tt.ok)
		}
	}
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("2468")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("Hash = %q, want an argon2id PHC string", h)
	}
	if err := CheckHash(h); err != nil {
		t.Fatalf("CheckHash(own hash): %v", err)
	}
	h2, _ := Hash("2468")
	if h == h2 {
		t.Error("two hashes of the same PIN are equal: salt not random")
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("2468"), MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	const devHash = "$2a$10$PZ.nXOy6P.m41gV7wawmGuUgBLLxTK23nT6JAFlBiKk.15jkXBGTq" // configs/dev.toml, 1234
	tests := []struct {
		name, hash, pin string
		want            bool
	}{
		{"argon2id right", h, "2468", true},
		{"argon2id wrong", h, "2469", false},
		{"argon2id empty pin", h, "", false},
		{"bcrypt 2a right", string(bc), "2468", true},
		{"bcrypt 2a wrong", string(bc), "1111", false},
		{"bcrypt 2b right", "$2b$" + string(bc)[4:], "2468", true},
		{"dev config hash", devHash, "1234", true},
		{"empty hash", "", "2468", false},
		{"plain text hash", "2468", "2468", false},
		{"truncated argon2id", h[:len(h)-20], "2468", false},
		{"argon2id huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "2468", false},
		{"argon2id wrong version", strings.Replace(h, "v=19", "v=16", 1), "2468", false},
		{"argon2d", strings.Replace(h, "argon2id", "argon2d", 1), "2468", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.hash, tt.pin); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashRefusesBadPIN(t *testing.T) {
	for _, p := range []string{"", "12", "abcd", "123456789"} {
		if _, err := Hash(p); err == nil {
			t.Errorf("Hash(%q) succeeded, want error", p)
		}
	}
}

func TestCheckHash(t *testing.T) {
	tests := []struct {
		hash string
		ok   bool
	}{
		{"$2a$10$PZ.nXOy6P.m41gV7wawmGuUgBLLxTK23nT6JAFlBiKk.15jkXBGTq", true},
		{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43), true},
		{"$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43), false},
		{"$argon2id$v=19$m=19456,t=2,p=1,x=3$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43), false},
		{"$argon2id$v=19$m=19456,t=2,p=1$!!$" + strings.Repeat("A", 43), false},
		{"$1$abc", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := CheckHash(tt.hash); (err == nil) != tt.ok {
			t.Errorf("CheckHash(%q) = %v, want ok=%v", tt.hash, err, tt.ok)
		}
	}
}
