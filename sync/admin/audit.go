package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// AuditPrefix is where audit records live in the bucket. Devices cannot
// write there (their policy covers their own room's prefix only), and object
// lock keeps the records for the retention period.
const AuditPrefix = layout.AuditPrefix

// AuditRecord says who did what to the archive, and when (declared by the
// contract, sync/layout).
type AuditRecord = layout.AuditRecord

// Auditor writes audit records with admin credentials.
type Auditor struct {
	Client *minio.Client
	Bucket string
	Who    string
	Now    func() time.Time // nil: time.Now
	// Reader, if set, writes as that reader: under audit/readers/<reader>/
	// (the one prefix a reader's policy lets it write), Who "reader:<name>".
	Reader string
}

// ReaderWho is the Who of a reader's audit records: their pseudonym.
func ReaderWho(name string) string { return "reader:" + name }

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
	if a.Reader != "" {
		r.Who = ReaderWho(a.Reader)
	}
	if r.Host == "" {
		r.Host, _ = os.Hostname()
	}
	if r.Result == "" {
		r.Result = "ok"
	}
	if !layout.ValidAction(r.Action) {
		return "", fmt.Errorf("write audit record: action %q cannot name a record", r.Action)
	}
	r.Version = layout.AuditVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write audit record: %w", err)
	}
	key := layout.AuditKey(r.At, r.Action, rand.Text()[:8])
	if a.Reader != "" {
		if err := layout.ValidReaderName(a.Reader); err != nil {
			return "", fmt.Errorf("write audit record: %w", err)
		}
		key = layout.ReaderAuditKey(a.Reader, r.At, r.Action, rand.Text()[:8])
	}
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
		opts.StartAfter = layout.AuditDayPrefix(since)
	}
	var out []AuditRecord
	for obj := range cl.ListObjects(ctx, bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list audit records: %w", obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindCertificate {
			continue // disposal certificates live beside the records: sessions lists them
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
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindReaderAudit {
			// A reader writes only under its own prefix: the key, which
			// the server's policy vouches for, names it, whatever the
			// record says.
			r.Who = ReaderWho(k.Device)
		}
		out = append(out, r)
	}
	// Readers' records (audit/readers/...) list after the admins' days.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
