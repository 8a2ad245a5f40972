package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"roomkiosk/internal/durable"
	"roomkiosk/sync/layout"
)

// ReaderPolicyName is the name of a reader's policy on the server. It never
// equals a room's (PolicyName starts "roomkiosk-").
func ReaderPolicyName(bucket, name string) string {
	return "roomkioskreader-" + strings.ReplaceAll(bucket, ".", "-") + "-" + name
}

// ReaderPolicy returns the IAM policy of a reader (a counselor or a
// supervisor with their own identity): list and read the session folders
// and the grants, write their own audit records, nothing else. No read of
// admin/, audit/, status or deletion requests; no delete anywhere; no
// write outside audit/readers/<name>/.
func ReaderPolicy(bucket, name string) ([]byte, error) {
	if err := layout.ValidReaderName(name); err != nil {
		return nil, err
	}
	if bucket == "" {
		return nil, errors.New("reader policy: bucket is empty")
	}
	arn := "arn:aws:s3:::" + bucket
	type statement struct {
		Effect    string         `json:"Effect"`
		Action    []string       `json:"Action"`
		Resource  []string       `json:"Resource"`
		Condition map[string]any `json:"Condition,omitempty"`
	}
	p := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{
			{
				// Listing is by prefix: the rooms, their session folders
				// and the grants; never admin/ or audit/.
				Effect: "Allow", Action: []string{"s3:ListBucket", "s3:ListBucketVersions"}, Resource: []string{arn},
				Condition: map[string]any{"StringLike": map[string]any{"s3:prefix": []string{
					layout.RoomsPrefix, layout.RoomsPrefix + "*/", layout.SessionsPattern, layout.GrantsPrefix + "*",
				}}},
			},
			{
				Effect: "Allow", Action: []string{"s3:GetObject", "s3:GetObjectVersion"},
				Resource: []string{arn + "/" + layout.SessionsPattern, arn + "/" + layout.GrantsPrefix + "*"},
			},
			{
				// The admins' witness of each session record (a fingerprint,
				// nothing personal): a reader's pull checks a record against
				// it as an admin's does, so a record a device rewrote in
				// place is refused to readers too. Read only, by key.
				Effect: "Allow", Action: []string{"s3:GetObject"},
				Resource: []string{arn + "/" + layout.WitnessPrefix + "*"},
			},
			{
				Effect: "Allow", Action: []string{"s3:PutObject"},
				Resource: []string{arn + "/" + layout.ReaderAuditPrefix(name) + "*"},
			},
		},
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("reader policy: %w", err)
	}
	return append(b, '\n'), nil
}

// ProvisionReader creates a reader's user with creds and attaches the
// reader's policy, through a temporary mc configuration (secrets on mc's
// standard input, never its command line).
func (m MC) ProvisionReader(ctx context.Context, name string, creds DeviceCredentials) error {
	policy, err := ReaderPolicy(m.Conn.Bucket, name)
	if err != nil {
		return err
	}
	if err := m.addUser(ctx, ReaderPolicyName(m.Conn.Bucket, name), policy, creds); err != nil {
		return fmt.Errorf("provision reader %s: %w", name, err)
	}
	return nil
}

// RevokeReader detaches a reader's policy from every enabled user holding
// it (but keep) and disables them; it returns the access keys revoked.
func (m MC) RevokeReader(ctx context.Context, name, keep string) ([]string, error) {
	if err := layout.ValidReaderName(name); err != nil {
		return nil, err
	}
	done, err := m.revokeUsers(ctx, ReaderPolicyName(m.Conn.Bucket, name), keep)
	if err != nil {
		return done, fmt.Errorf("revoke reader %s: %w", name, err)
	}
	return done, nil
}

// WriteReaderSecret writes a reader's secret key alone (mode 0600, never
// over an existing file): roomctl reads it with --secret-key-file.
func WriteReaderSecret(path string, c DeviceCredentials) error {
	err := durable.WriteNew(path, []byte(c.SecretKey+"\n"), durable.Options{Perm: 0o600})
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write secret key file %s: it exists already; remove it or choose another path", path)
	}
	if err != nil {
		return fmt.Errorf("write secret key file: %w", err)
	}
	return nil
}

// ReaderEnv returns the environment a reader sets to run roomctl with their
// credentials (the secret stays in its file).
func ReaderEnv(endpoint, bucket, name, accessKey, secretFile, caFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# roomctl for reader %s: read-only on the sessions, audited under %s\n", name, layout.ReaderAuditPrefix(name))
	fmt.Fprintf(&b, "export ROOMCTL_ENDPOINT=%s\n", shellQuote(endpoint))
	fmt.Fprintf(&b, "export ROOMCTL_BUCKET=%s\n", shellQuote(bucket))
	fmt.Fprintf(&b, "export ROOMCTL_ACCESS_KEY=%s\n", shellQuote(accessKey))
	fmt.Fprintf(&b, "export ROOMCTL_SECRET_KEY_FILE=%s\n", shellQuote(secretFile))
	fmt.Fprintf(&b, "export ROOMCTL_READER=%s\n", shellQuote(name))
	if caFile != "" {
		fmt.Fprintf(&b, "export ROOMCTL_CA=%s\n", shellQuote(caFile))
	}
	return b.String()
}
