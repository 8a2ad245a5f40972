package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
)

// AuditPrefix is where audit records live in the bucket. Devices cannot
// write there (their policy covers rooms/<room>/ only), and object lock
// keeps the records for the retention period.
const AuditPrefix = "audit/"

// AuditRecord says who did what to the archive, and when. It never holds
// audio or personal data: rooms and session ids are pseudonymous.
type AuditRecord struct {
	At      time.Time `json:"at"`
	Who     string    `json:"who"`    // admin access key
	Host    string    `json:"host"`   // the admin machine's host name
	Action  string    `json:"action"` // pull, delete-session, provision, bucket-init
	Room    string    `json:"room,omitempty"`
	Session string    `json:"session,omitempty"`
	Objects []string  `json:"objects,omitempty"` // keys touched (with version ids for deletions)
	Result  string    `json:"result"`            // "ok" or the error
	Detail  string    `json:"detail,omitempty"`
}

// Auditor writes audit records with admin credentials.
type Auditor struct {
	Client *minio.Client
	Bucket string
	Who    string
	Now    func() time.Time // nil: time.Now
}

// Write stores one record under audit/yyyy/mm/dd/ with a key that sorts by
// time and never collides, and returns the key.
func (a Auditor) Write(ctx context.Context, r AuditRecord) (string, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if r.At.IsZero() {
		r.At = now().UTC()
	}
	if r.Who == "" {
		r.Who = a.Who
	}
	if r.Host == "" {
		r.Host, _ = os.Hostname()
	}
	if r.Result == "" {
		r.Result = "ok"
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write audit record: %w", err)
	}
	key := fmt.Sprintf("%s%s/%s-%s-%s.json", AuditPrefix, r.At.Format("2006/01/02"),
		r.At.Format("20060102T150405.000000000Z"), r.Action, rand.Text()[:8])
	_, err = a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		ContentType: "application/json",
		Checksum:    minio.ChecksumSHA256,
	})
	if err != nil {
		return "", fmt.Errorf("write audit record %s: %w", key, err)
	}
	return key, nil
}

// ReadAudit returns every audit record under audit/, oldest first.
func ReadAudit(ctx context.Context, cl *minio.Client, bucket string) ([]AuditRecord, error) {
	return ReadAuditSince(ctx, cl, bucket, time.Time{})
}

// ReadAuditSince returns the audit records from since's day (UTC) on,
// oldest first; `roomctl audit` uses it.
func ReadAuditSince(ctx context.Context, cl *minio.Client, bucket string, since time.Time) ([]AuditRecord, error) {
	opts := minio.ListObjectsOptions{Prefix: AuditPrefix, Recursive: true}
	if !since.IsZero() {
		// Keys start with the day folder: this skips every earlier day.
		opts.StartAfter = AuditPrefix + since.UTC().Format("2006/01/02")
	}
	var out []AuditRecord
	for obj := range cl.ListObjects(ctx, bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list audit records: %w", obj.Err)
		}
		o, err := cl.GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			return nil, fmt.Errorf("read audit record %s: %w", obj.Key, err)
		}
		var r AuditRecord
		err = json.NewDecoder(o).Decode(&r)
		o.Close()
		if err != nil {
			return nil, fmt.Errorf("read audit record %s: %w", obj.Key, err)
		}
		if !since.IsZero() && r.At.Before(since) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
