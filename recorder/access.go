package recorder

import (
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"

	"roomkiosk/recorder/manifest"
)

// CounselorKeys are one counselor's public keys from the device config
// ([[counselors]] recipient and supervisors): their sessions are encrypted
// to them beside the practice's escrow recipients.
type CounselorKeys struct {
	ID          string
	Recipient   string   // optional: the counselor's own age1... key
	Supervisors []string // their supervisors' age1... keys
}

// ValidateCounselorKeys checks every counselor's recipients, naming the key
// (counselors[i].recipient, counselors[i].supervisors[j]). A secret key is
// refused with the reason: a device holds public keys only.
func ValidateCounselorKeys(cs []CounselorKeys) error {
	check := func(where, r string) error {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(r)), "AGE-SECRET-KEY-") {
			return fmt.Errorf("%s: this is a secret key; a device holds public keys only", where)
		}
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}
	var errs []error
	for i, c := range cs {
		if c.Recipient != "" {
			if err := check(fmt.Sprintf("counselors[%d].recipient", i), c.Recipient); err != nil {
				errs = append(errs, err)
			}
		}
		if len(c.Supervisors) > manifest.MaxRecipients/2 {
			errs = append(errs, fmt.Errorf("counselors[%d].supervisors: %d keys, at most %d", i, len(c.Supervisors), manifest.MaxRecipients/2))
			continue
		}
		for j, s := range c.Supervisors {
			if err := check(fmt.Sprintf("counselors[%d].supervisors[%d]", i, j), s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Keyring says to whom each session is encrypted: the practice's escrow
// recipients, the session's counselor and their supervisors. It holds
// public keys only.
type Keyring struct {
	escrow     []keyed
	counselors map[string][]keyed // by counselor id: own key, then supervisors
}

type keyed struct {
	access manifest.Access
	r      age.Recipient
}

// NewKeyring parses the escrow recipients (age1...) and every counselor's
// keys.
func NewKeyring(escrow []string, counselors []CounselorKeys) (*Keyring, error) {
	if len(escrow) == 0 {
		return nil, errors.New("keyring: no escrow recipient (encryption.recipients)")
	}
	if err := ValidateCounselorKeys(counselors); err != nil {
		return nil, err
	}
	k := &Keyring{counselors: map[string][]keyed{}}
	for i, s := range escrow {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
		k.escrow = append(k.escrow, keyed{manifest.Access{Role: manifest.RoleEscrow, Recipient: r.String()}, r})
	}
	for _, c := range counselors {
		var ks []keyed
		add := func(role, s string) {
			r, _ := age.ParseX25519Recipient(s) // checked above
			ks = append(ks, keyed{manifest.Access{Role: role, Recipient: r.String()}, r})
		}
		if c.Recipient != "" {
			add(manifest.RoleCounselor, c.Recipient)
		}
		for _, s := range c.Supervisors {
			add(manifest.RoleSupervisor, s)
		}
		k.counselors[c.ID] = ks
	}
	return k, nil
}

// escrowKeyring wraps recipients given directly (Options.Recipients without
// a Keyring): escrow only, and not named in the manifest unless they are
// X25519 keys.
func escrowKeyring(rs []age.Recipient) *Keyring {
	k := &Keyring{counselors: map[string][]keyed{}}
	for _, r := range rs {
		kd := keyed{r: r}
		if x, ok := r.(*age.X25519Recipient); ok {
			kd.access = manifest.Access{Role: manifest.RoleEscrow, Recipient: x.String()}
		}
		k.escrow = append(k.escrow, kd)
	}
	return k
}

// For returns the recipients of a session of counselorID and the roles to
// record in its manifest: escrow first, then the counselor's own key, then
// their supervisors', each key once (its first role). An unknown counselor
// (or none) gets escrow only.
func (k *Keyring) For(counselorID string) ([]age.Recipient, []manifest.Access) {
	all := append(append([]keyed{}, k.escrow...), k.counselors[counselorID]...)
	seen := map[string]bool{}
	var rs []age.Recipient
	var acc []manifest.Access
	known := true
	for _, kd := range all {
		if kd.access.Recipient == "" {
			known = false // not an X25519 key: the roles cannot be told
		} else {
			if seen[kd.access.Recipient] {
				continue
			}
			seen[kd.access.Recipient] = true
			acc = append(acc, kd.access)
		}
		rs = append(rs, kd.r)
	}
	if !known {
		acc = nil
	}
	return rs, acc
}

// parseAccess turns a manifest's roles back into recipients (a resumed
// session keeps its own); false if there are none or one does not parse.
func parseAccess(acc []manifest.Access) ([]age.Recipient, bool) {
	if len(acc) == 0 {
		return nil, false
	}
	rs := make([]age.Recipient, 0, len(acc))
	for _, a := range acc {
		r, err := age.ParseX25519Recipient(a.Recipient)
		if err != nil {
			return nil, false
		}
		rs = append(rs, r)
	}
	return rs, true
}
