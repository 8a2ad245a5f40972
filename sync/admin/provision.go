package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"roomkiosk/kiosk/durable"
	"roomkiosk/sync/layout"
)

// ValidRoomID reports whether id can name a room: it is used in object keys,
// user and policy names, so only letters, digits, '-' and '_' (as the device
// config's room.id). The rule is the archive contract's (sync/layout).
func ValidRoomID(id string) error { return layout.ValidRoomID(id) }

// RoomPrefix is the object key prefix a room's device may write under.
func RoomPrefix(room string) string { return layout.RoomPrefix(room) }

// PolicyName is the name of a room's device policy on the server. The bucket
// is part of it so two buckets on one server keep separate policies.
func PolicyName(bucket, room string) string {
	return "roomkiosk-" + strings.ReplaceAll(bucket, ".", "-") + "-" + room
}

// DevicePolicy returns the IAM policy of a room's device: s3:PutObject on its
// own prefix and nothing else, so a stolen or compromised kiosk can neither
// read, list nor delete anything, its own uploads included.
func DevicePolicy(bucket, room string) ([]byte, error) {
	if err := ValidRoomID(room); err != nil {
		return nil, err
	}
	if bucket == "" {
		return nil, errors.New("device policy: bucket is empty")
	}
	type statement struct {
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource []string `json:"Resource"`
	}
	p := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{{
			Effect:   "Allow",
			Action:   []string{"s3:PutObject"},
			Resource: []string{"arn:aws:s3:::" + bucket + "/" + RoomPrefix(room) + "*"},
		}},
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("device policy: %w", err)
	}
	return append(b, '\n'), nil
}

// DeviceStorageTOML returns the [storage] section of the room's device
// config (keys as in sync/upload.Config).
func DeviceStorageTOML(room, endpoint, bucket, credentialsFile, caFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Device config for room %s: put this in the kiosk's roomkiosk.toml\n", room)
	fmt.Fprintf(&b, "# and the credentials file at credentials_file (mode 0600, owned by the daemon's user).\n")
	fmt.Fprintf(&b, "# Its [room] id must be %s: the device may write only under %s.\n", strconv.Quote(room), RoomPrefix(room))
	b.WriteString("[storage]\n")
	fmt.Fprintf(&b, "endpoint = %s\n", strconv.Quote(endpoint))
	fmt.Fprintf(&b, "bucket = %s\n", strconv.Quote(bucket))
	fmt.Fprintf(&b, "credentials_file = %s\n", strconv.Quote(credentialsFile))
	if caFile != "" {
		fmt.Fprintf(&b, "ca_file = %s\n", strconv.Quote(caFile))
	} else {
		b.WriteString("# ca_file = \"/etc/roomkiosk/clinic-ca.pem\"   # only for a private CA\n")
	}
	return b.String()
}

// DeviceCredentials are a room device's own keys.
type DeviceCredentials struct {
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
}

// NewDeviceCredentials generates random keys in MinIO's limits (access key
// at most 20 characters, secret key at most 40).
func NewDeviceCredentials() DeviceCredentials {
	// rand.Text is 26 base32 characters (130 bits).
	return DeviceCredentials{
		AccessKey: "RK" + rand.Text()[:18],
		SecretKey: (rand.Text() + rand.Text())[:40],
	}
}

// WriteCredentialsFile writes the device's credentials file (TOML with
// access_key and secret_key) with mode 0600. It never overwrites a file, so a
// slip of the keyboard cannot destroy a working device's keys.
func WriteCredentialsFile(path, room string, c DeviceCredentials) error {
	content := fmt.Sprintf("# roomkiosk device credentials for room %s (PutObject under %s only)\naccess_key = %s\nsecret_key = %s\n",
		room, RoomPrefix(room), strconv.Quote(c.AccessKey), strconv.Quote(c.SecretKey))
	err := durable.WriteNew(path, []byte(content), durable.Options{Perm: 0o600})
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write credentials file %s: it exists already; remove it or choose another path", path)
	}
	if err != nil {
		return fmt.Errorf("write credentials file: %w", err)
	}
	return nil
}

// mcAlias is the alias roomctl gives the server inside its own temporary mc
// configuration.
const mcAlias = "roomctl"

// MC runs the mc client as a separate program (it is AGPL; never linked).
type MC struct {
	Path string // the mc binary
	Conn Conn   // admin connection
}

// ProvisionRoom creates the device user with creds and attaches the room's
// policy, through a temporary mc configuration that is removed afterwards.
// Secrets go to mc on its standard input, never on its command line, where
// other users of the machine could read them.
func (m MC) ProvisionRoom(ctx context.Context, room string, creds DeviceCredentials) error {
	policy, err := DevicePolicy(m.Conn.Bucket, room)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "roomctl-mc-")
	if err != nil {
		return fmt.Errorf("provision %s: %w", room, err)
	}
	defer os.RemoveAll(dir)
	if m.Conn.CAFile != "" {
		// mc trusts every PEM file in <config>/certs/CAs.
		ca, err := os.ReadFile(m.Conn.CAFile)
		if err != nil {
			return fmt.Errorf("provision %s: read ca file: %w", room, err)
		}
		cas := filepath.Join(dir, "certs", "CAs")
		if err := os.MkdirAll(cas, 0o700); err != nil {
			return fmt.Errorf("provision %s: %w", room, err)
		}
		if err := os.WriteFile(filepath.Join(cas, "roomctl-ca.crt"), ca, 0o600); err != nil {
			return fmt.Errorf("provision %s: %w", room, err)
		}
	}
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, policy, 0o600); err != nil {
		return fmt.Errorf("provision %s: %w", room, err)
	}
	name := PolicyName(m.Conn.Bucket, room)
	steps := []struct {
		what  string
		args  []string
		stdin string
	}{
		{"set admin alias", []string{"alias", "set", mcAlias, m.Conn.Endpoint}, m.Conn.AccessKey + "\n" + m.Conn.SecretKey + "\n"},
		{"create policy " + name, []string{"admin", "policy", "create", mcAlias, name, policyFile}, ""},
		{"add user " + creds.AccessKey, []string{"admin", "user", "add", mcAlias}, creds.AccessKey + "\n" + creds.SecretKey + "\n"},
		{"attach policy " + name, []string{"admin", "policy", "attach", mcAlias, name, "--user", creds.AccessKey}, ""},
	}
	for _, s := range steps {
		args := append([]string{"--config-dir", dir, "--no-color", "--disable-pager"}, s.args...)
		cmd := exec.CommandContext(ctx, m.Path, args...)
		cmd.Env = append(os.Environ(), "MC_CONFIG_DIR="+dir)
		cmd.Stdin = strings.NewReader(s.stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("provision %s: mc %s: %w: %s", room, s.what, err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// MCCommands returns the shell commands an admin runs where mc is installed
// to do what ProvisionRoom does. The device secret is read from the
// credentials file rather than printed.
func MCCommands(conn Conn, room string, creds DeviceCredentials, credentialsFile string) (string, error) {
	policy, err := DevicePolicy(conn.Bucket, room)
	if err != nil {
		return "", err
	}
	name := PolicyName(conn.Bucket, room)
	policyFile := "roomkiosk-policy-" + room + ".json"
	var b strings.Builder
	b.WriteString("# mc asks for the admin access and secret keys:\n")
	fmt.Fprintf(&b, "mc alias set %s %s\n", mcAlias, shellQuote(conn.Endpoint))
	fmt.Fprintf(&b, "cat > %s <<'EOF'\n%sEOF\n", policyFile, policy)
	fmt.Fprintf(&b, "mc admin policy create %s %s %s\n", mcAlias, name, policyFile)
	fmt.Fprintf(&b, "printf '%%s\\n%%s\\n' %s \"$(sed -n 's/^secret_key = \"\\(.*\\)\"$/\\1/p' %s)\" | mc admin user add %s\n",
		creds.AccessKey, shellQuote(credentialsFile), mcAlias)
	fmt.Fprintf(&b, "mc admin policy attach %s %s --user %s\n", mcAlias, name, creds.AccessKey)
	return b.String(), nil
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
