package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"roomkiosk/internal/durable"
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
		Effect    string                       `json:"Effect"`
		Action    []string                     `json:"Action"`
		Resource  []string                     `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition,omitempty"`
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
		}, {
			// MinIO accepts a versionId on a PutObject (meant for
			// replication) and with it writes a version of the caller's
			// choosing, or rewrites an existing version in place, even
			// under governance retention: a device names no version, ever
			// (docs/ARCHIVE-TRUTH.md).
			Effect:    "Deny",
			Action:    []string{"s3:PutObject"},
			Resource:  []string{"arn:aws:s3:::" + bucket + "/*"},
			Condition: map[string]map[string]string{"StringLike": {"s3:versionid": "?*"}},
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
	s, err := m.session(ctx)
	if err != nil {
		return fmt.Errorf("provision %s: %w", room, err)
	}
	defer s.close()
	policyFile := filepath.Join(s.dir, "policy.json")
	if err := os.WriteFile(policyFile, policy, 0o600); err != nil {
		return fmt.Errorf("provision %s: %w", room, err)
	}
	name := PolicyName(m.Conn.Bucket, room)
	for _, st := range []mcStep{
		{"create policy " + name, []string{"admin", "policy", "create", mcAlias, name, policyFile}, ""},
		{"add user " + creds.AccessKey, []string{"admin", "user", "add", mcAlias}, creds.AccessKey + "\n" + creds.SecretKey + "\n"},
		{"attach policy " + name, []string{"admin", "policy", "attach", mcAlias, name, "--user", creds.AccessKey}, ""},
	} {
		if _, err := s.run(ctx, st); err != nil {
			return fmt.Errorf("provision %s: %w", room, err)
		}
	}
	return nil
}

// DeviceUsers lists the enabled users the server has with room's device
// policy attached.
func (m MC) DeviceUsers(ctx context.Context, room string) ([]string, error) {
	s, err := m.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("list device users of %s: %w", room, err)
	}
	defer s.close()
	return s.deviceUsers(ctx, PolicyName(m.Conn.Bucket, room))
}

// RevokeRoom cuts off room's device credentials but keep (the ones a
// rotation just made; "" for none): the room's policy is detached from
// each and the user disabled, so its keys get AccessDenied from then on.
// It returns the access keys it revoked.
func (m MC) RevokeRoom(ctx context.Context, room, keep string) ([]string, error) {
	if err := ValidRoomID(room); err != nil {
		return nil, err
	}
	s, err := m.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("revoke %s: %w", room, err)
	}
	defer s.close()
	name := PolicyName(m.Conn.Bucket, room)
	users, err := s.deviceUsers(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("revoke %s: %w", room, err)
	}
	var done []string
	for _, u := range users {
		if u == keep {
			continue
		}
		for _, st := range []mcStep{
			{"detach policy " + name + " from " + u, []string{"admin", "policy", "detach", mcAlias, name, "--user", u}, ""},
			{"disable user " + u, []string{"admin", "user", "disable", mcAlias, u}, ""},
		} {
			if _, err := s.run(ctx, st); err != nil {
				return done, fmt.Errorf("revoke %s: %w", room, err)
			}
		}
		done = append(done, u)
	}
	return done, nil
}

// mcSession is a temporary mc configuration holding the admin alias.
type mcSession struct {
	mc  MC
	dir string
}

type mcStep struct {
	what  string
	args  []string
	stdin string
}

func (m MC) session(ctx context.Context) (*mcSession, error) {
	dir, err := os.MkdirTemp("", "roomctl-mc-")
	if err != nil {
		return nil, err
	}
	s := &mcSession{mc: m, dir: dir}
	if m.Conn.CAFile != "" {
		// mc trusts every PEM file in <config>/certs/CAs.
		ca, err := os.ReadFile(m.Conn.CAFile)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("read ca file: %w", err)
		}
		cas := filepath.Join(dir, "certs", "CAs")
		if err := os.MkdirAll(cas, 0o700); err != nil {
			s.close()
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(cas, "roomctl-ca.crt"), ca, 0o600); err != nil {
			s.close()
			return nil, err
		}
	}
	if _, err := s.run(ctx, mcStep{"set admin alias", []string{"alias", "set", mcAlias, m.Conn.Endpoint}, m.Conn.AccessKey + "\n" + m.Conn.SecretKey + "\n"}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *mcSession) close() { os.RemoveAll(s.dir) }

func (s *mcSession) run(ctx context.Context, st mcStep) ([]byte, error) {
	args := append([]string{"--config-dir", s.dir, "--no-color", "--disable-pager"}, st.args...)
	cmd := exec.CommandContext(ctx, s.mc.Path, args...)
	cmd.Env = append(os.Environ(), "MC_CONFIG_DIR="+s.dir)
	cmd.Stdin = strings.NewReader(st.stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("mc %s: %w: %s", st.what, err, strings.TrimSpace(out.String()+" "+errOut.String()))
	}
	return out.Bytes(), nil
}

// deviceUsers lists the enabled users with policy attached (mc admin user
// list --json: one JSON object a line).
func (s *mcSession) deviceUsers(ctx context.Context, policy string) ([]string, error) {
	out, err := s.run(ctx, mcStep{"list users", []string{"--json", "admin", "user", "list", mcAlias}, ""})
	if err != nil {
		return nil, err
	}
	var users []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var u struct {
			Status     string `json:"status"`
			AccessKey  string `json:"accessKey"`
			PolicyName string `json:"policyName"`
			UserStatus string `json:"userStatus"`
		}
		if err := dec.Decode(&u); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("mc list users: %w", err)
		}
		if u.UserStatus != "enabled" {
			continue
		}
		for _, p := range strings.Split(u.PolicyName, ",") {
			if strings.TrimSpace(p) == policy {
				users = append(users, u.AccessKey)
			}
		}
	}
	return users, nil
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
