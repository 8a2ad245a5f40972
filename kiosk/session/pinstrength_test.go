package session_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"roomkiosk/kiosk/session"
)

// TestWeakPINHashIsAConfigError: a counselor's hash below the minimum
// strength (issue 13 item 6) is refused by the config validation and by
// New, and the error names the counselor whose PIN must be redone.
func TestWeakPINHashIsAConfigError(t *testing.T) {
	weak, err := bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cs := []session.Counselor{
		{ID: "c-strong", PINHash: pinHash},
		{ID: "c-weak", PINHash: string(weak)},
	}
	err = session.ValidateCounselors(cs)
	if err == nil {
		t.Fatal("ValidateCounselors accepted a bcrypt cost 4 hash")
	}
	for _, want := range []string{"counselors[1].pin_hash", `"c-weak"`, "cost 4", "too weak"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	cfg := testConfig()
	cfg.Counselors = cs
	if _, err := session.New(cfg, depsForNew()); err == nil || !strings.Contains(err.Error(), "c-weak") {
		t.Errorf("New: %v, want an error naming c-weak", err)
	}
	weakArgon := "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43)
	if err := session.ValidateCounselors([]session.Counselor{{ID: "c-argon", PINHash: weakArgon}}); err == nil || !strings.Contains(err.Error(), `"c-argon"`) {
		t.Errorf("argon2id m=1024,t=1: %v, want an error naming c-argon", err)
	}
	if err := session.ValidateCounselors(cs[:1]); err != nil {
		t.Errorf("a cost 10 hash refused: %v", err)
	}
}
