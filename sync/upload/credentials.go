package upload

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Credentials are the device's storage keys (PutObject under rooms/<room>/
// only), read from storage.credentials_file.
type Credentials struct {
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
}

// ErrCredentials is matched by every credentials file problem.
var ErrCredentials = errors.New("bad credentials file")

// LoadCredentials reads a TOML credentials file. It refuses a file that group
// or others may read (mode must be 0600 or stricter: it holds a secret), and
// one that is malformed or incomplete. Errors name the file, never the secret.
func LoadCredentials(path string) (Credentials, error) {
	var c Credentials
	fail := func(format string, a ...any) (Credentials, error) {
		return Credentials{}, fmt.Errorf("load credentials %s: %w: %s", path, ErrCredentials, fmt.Sprintf(format, a...))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail("%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fail("%v", err)
	}
	if !fi.Mode().IsRegular() {
		return fail("not a regular file")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fail("mode %04o lets group or others read it; run chmod 600 %s", perm, path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return fail("%v", err)
	}
	md, err := toml.NewDecoder(&buf).Decode(&c)
	if err != nil {
		// The TOML error may quote the line, which may hold the secret.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fail("not valid TOML (line %d)", pe.Position.Line)
		}
		return fail("not valid TOML")
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fail("unknown key %s (want access_key and secret_key)", strings.Join(keys, ", "))
	}
	switch {
	case strings.TrimSpace(c.AccessKey) == "":
		return fail("access_key missing or empty")
	case strings.TrimSpace(c.SecretKey) == "":
		return fail("secret_key missing or empty")
	}
	return c, nil
}
