package admin

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ProvisionRooms does what ProvisionRoom does for many rooms at once (a new
// practice, a fleet): each room gets its device user, its own policy and
// the attachment, the same as one by one. ProvisionRoom runs mc four times
// per room, each run a process start and an admin round trip, which adds
// up to minutes for a few hundred rooms; this writes every user, policy and
// attachment into one IAM archive in the format `mc admin cluster iam
// export` writes, and imports it with one `mc admin cluster iam import`.
// The archive holds the device secrets, so it lives in a private temporary
// folder (0700, file 0600) removed afterwards.
func (m MC) ProvisionRooms(ctx context.Context, rooms map[string]DeviceCredentials) error {
	if len(rooms) == 0 {
		return errors.New("provision rooms: no room given")
	}
	policies := map[string]json.RawMessage{}
	type user struct {
		SecretKey string `json:"secretKey"`
		Status    string `json:"status"`
	}
	type mapping struct {
		Version   int       `json:"version"`
		Policy    string    `json:"policy"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	users, mappings := map[string]user{}, map[string]mapping{}
	now := time.Now().UTC()
	for room, c := range rooms {
		p, err := DevicePolicy(m.Conn.Bucket, room)
		if err != nil {
			return fmt.Errorf("provision rooms: %w", err)
		}
		if c.AccessKey == "" || c.SecretKey == "" {
			return fmt.Errorf("provision rooms: room %s: empty credentials", room)
		}
		if _, dup := users[c.AccessKey]; dup {
			return fmt.Errorf("provision rooms: room %s: access key given to two rooms", room)
		}
		name := PolicyName(m.Conn.Bucket, room)
		policies[name] = p
		users[c.AccessKey] = user{SecretKey: c.SecretKey, Status: "enabled"}
		mappings[c.AccessKey] = mapping{Version: 1, Policy: name, UpdatedAt: now}
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	// The server imports policies first, then users, then the mappings.
	for _, f := range []struct {
		name string
		v    any
	}{{"policies.json", policies}, {"users.json", users}, {"user_mappings.json", mappings}} {
		w, err := zw.Create("iam-assets/" + f.name)
		if err != nil {
			return fmt.Errorf("provision rooms: %w", err)
		}
		if err := json.NewEncoder(w).Encode(f.v); err != nil {
			return fmt.Errorf("provision rooms: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("provision rooms: %w", err)
	}

	dir, err := os.MkdirTemp("", "roomctl-mc-")
	if err != nil {
		return fmt.Errorf("provision rooms: %w", err)
	}
	defer os.RemoveAll(dir)
	if m.Conn.CAFile != "" {
		ca, err := os.ReadFile(m.Conn.CAFile)
		if err != nil {
			return fmt.Errorf("provision rooms: read ca file: %w", err)
		}
		cas := filepath.Join(dir, "certs", "CAs")
		if err := os.MkdirAll(cas, 0o700); err != nil {
			return fmt.Errorf("provision rooms: %w", err)
		}
		if err := os.WriteFile(filepath.Join(cas, "roomctl-ca.crt"), ca, 0o600); err != nil {
			return fmt.Errorf("provision rooms: %w", err)
		}
	}
	zipPath := filepath.Join(dir, "iam.zip")
	if err := os.WriteFile(zipPath, zb.Bytes(), 0o600); err != nil {
		return fmt.Errorf("provision rooms: %w", err)
	}
	run := func(what string, stdin string, args ...string) ([]byte, error) {
		args = append([]string{"--config-dir", dir, "--no-color", "--disable-pager"}, args...)
		cmd := exec.CommandContext(ctx, m.Path, args...)
		cmd.Env = append(os.Environ(), "MC_CONFIG_DIR="+dir)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("provision rooms: mc %s: %w: %s", what, err, strings.TrimSpace(out.String()+" "+errb.String()))
		}
		return out.Bytes(), nil
	}
	if _, err := run("set admin alias", m.Conn.AccessKey+"\n"+m.Conn.SecretKey+"\n", "alias", "set", mcAlias, m.Conn.Endpoint); err != nil {
		return err
	}
	out, err := run("iam import", "", "--json", "admin", "cluster", "iam", "import", mcAlias, zipPath)
	if err != nil {
		return err
	}
	// The server goes on past entries it could not add and lists them.
	var res struct {
		Failed struct {
			Policies     []struct{ Name string } `json:"policies"`
			Users        []struct{ Name string } `json:"users"`
			UserPolicies []struct{ Name string } `json:"userPolicies"`
		} `json:"failed"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		return fmt.Errorf("provision rooms: mc iam import: unexpected answer %q: %w", bytes.TrimSpace(out), err)
	}
	var failed []string
	for _, f := range res.Failed.Policies {
		failed = append(failed, "policy "+f.Name)
	}
	for _, f := range res.Failed.Users {
		failed = append(failed, "user "+f.Name)
	}
	for _, f := range res.Failed.UserPolicies {
		failed = append(failed, "attachment to "+f.Name)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("provision rooms: the server refused %d entries: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}
