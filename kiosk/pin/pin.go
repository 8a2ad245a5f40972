// Package pin hashes and checks counselor PINs. Hashes are stored in the
// device config ([[counselors]] pin_hash), so they must be slow to brute
// force: argon2id for new hashes, and bcrypt ($2a$/$2b$) accepted too.
package pin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters for new hashes. 19 MiB / 2 passes is the OWASP
// minimum; it keeps a check well under a second on a Pi Zero 2 W, which
// matters because the counselor waits for it at the door.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16

	// Limits on parameters read from a stored hash, so a bad config line
	// cannot make Verify allocate gigabytes or spin for minutes.
	maxArgonMemory = 256 * 1024
	maxArgonTime   = 10
)

// Minimum strength of a stored hash. A PIN has at most 10^8 values (10^4
// for a 4-digit one), so the hash's cost is all that stands between a
// copied config and the PIN: at bcrypt cost 4 or argon2id m=1,t=1 a 4-digit
// space falls in well under a second. These floors are the OWASP minimums
// (argon2id 19 MiB, 2 passes; bcrypt 10), and what `roomctl pin-hash` makes.
const (
	MinBcryptCost  = 10
	MinArgonMemory = 19 * 1024 // KiB
	MinArgonTime   = 2
)

// RecommendedDigits is the PIN length `roomctl pin-hash` recommends: each
// digit multiplies an offline search by ten, and 4 digits fall in minutes
// on one core even at the minimum hash strength.
const RecommendedDigits = 6

// Validate reports whether pin is an acceptable counselor PIN: 4 to 8 ASCII
// digits.
func Validate(pin string) error {
	if len(pin) < 4 || len(pin) > 8 {
		return fmt.Errorf("pin: must be 4 to 8 digits, got %d characters", len(pin))
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return errors.New("pin: must hold digits only")
		}
	}
	return nil
}

// Hash validates pin and returns its argon2id hash in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func Hash(pin string) (string, error) {
	if err := Validate(pin); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("pin hash: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pin matches hash, which may be an argon2id PHC
// string or a bcrypt hash. A malformed hash, or one weaker than the minimum
// (CheckHash), never matches.
func Verify(hash, pin string) bool {
	if CheckHash(hash) != nil {
		return false
	}
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, pin)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pin)) == nil
	}
	return false
}

// CheckHash reports whether hash is a well-formed hash Verify can use and at
// least as strong as the minimum (MinBcryptCost, MinArgonMemory,
// MinArgonTime), with a message that says what is wrong (for config
// validation).
func CheckHash(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, err := parseArgon2id(hash)
		if err != nil {
			return err
		}
		if p.memory < MinArgonMemory || p.time < MinArgonTime {
			return fmt.Errorf("argon2id hash: m=%d KiB, t=%d is too weak (at least m=%d, t=%d; make a new one with `roomctl pin-hash`)",
				p.memory, p.time, MinArgonMemory, MinArgonTime)
		}
		return nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		if cost < MinBcryptCost {
			return fmt.Errorf("bcrypt hash: cost %d is too weak (at least %d; make a new one with `roomctl pin-hash`)", cost, MinBcryptCost)
		}
		return nil
	}
	return errors.New("not a bcrypt or argon2id hash")
}

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parseArgon2id(hash string) (argonParams, error) {
	var p argonParams
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errors.New("argon2id hash: want $argon2id$v=19$m=..,t=..,p=..$salt$key")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("argon2id hash: unsupported version %q", parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("argon2id hash: bad parameter %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("argon2id hash: parameter %s: %w", k, err)
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("argon2id hash: parameter p=%d too large", n)
			}
			p.threads = uint8(n)
		default:
			return p, fmt.Errorf("argon2id hash: unknown parameter %q", k)
		}
	}
	switch {
	case p.memory == 0 || p.time == 0 || p.threads == 0:
		return p, errors.New("argon2id hash: m, t and p are required and must be positive")
	case p.memory > maxArgonMemory:
		return p, fmt.Errorf("argon2id hash: m=%d KiB is more than this device allows (%d)", p.memory, maxArgonMemory)
	case p.time > maxArgonTime:
		return p, fmt.Errorf("argon2id hash: t=%d is more than this device allows (%d)", p.time, maxArgonTime)
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("argon2id hash: salt is not base64 of at least 8 bytes")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return p, errors.New("argon2id hash: key is not base64 of at least 16 bytes")
	}
	return p, nil
}

func verifyArgon2id(hash, pin string) bool {
	p, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(pin), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	// argon2id's block (19 MiB at the minimum) is garbage now. The daemon
	// allocates little, so the runtime would keep it resident until its
	// forced GC two minutes later: more than half the daemon's memory
	// through the first minutes of a session (issue 25). Give it back now;
	// a PIN check is a human event, the GC of a small heap a few ms.
	debug.FreeOSMemory()
	return subtle.ConstantTimeCompare(key, p.key) == 1
}
