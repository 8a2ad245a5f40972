// Package upload is the device side of sync: the spool is the queue, and
// objects go to MinIO with checksums and idempotent keys.
//
// What goes where (room R, bucket from storage.bucket; the keys and records
// are the archive contract's, sync/layout, and the spool's folders
// recorder/spool's):
//
//	<spool>/deletions/<id>.json          -> rooms/R/deletions/<id>.json            early (privacy), after the summaries
//	<spool>/summaries/<id>.json          -> rooms/R/sessions/YYYY/MM/DD/<id>/summary.json  first (every session, recorded or not;
//	                                        audio_deleted when a deletion request for it is queued or was sent)
//	<spool>/sessions/<id>/seg-*.age      -> rooms/R/sessions/YYYY/MM/DD/<id>/...   oldest session first,
//	<spool>/sessions/<id>/manifest.json  -> .../<id>/manifest.json                 manifest after all segments
//	<spool>/sessions/<id>/manifest.held.json -> nothing: a withdrawn session held on the device until
//	                                        its participants keep it (the recorder renames it to
//	                                        manifest.json) or delete it (recorder/FORMAT.md)
//	<log_dir>/YYYY-MM-DD.jsonl           -> rooms/R/checks/YYYY/MM/YYYY-MM-DD.jsonl (closed days, whole)
//	                                        .../YYYY-MM-DD.upto-<bytes>.jsonl      (today, every 30 min if grown)
//	status (every status_interval, door changes) -> rooms/R/status.json (record: sync/layout.Status)
//	upload check probe                   -> rooms/R/probe/<device> (If-None-Match: no new versions)
//
// Every object but status.json is put with If-None-Match: *, so a retry or a
// crash between put and local removal never adds an object version, and
// "already exists" counts as done. Every put carries its SHA-256, which the
// server verifies; a segment is checked against the manifest before its put
// and a mismatch quarantines the session in <spool>/quarantine/<id> (with
// quarantine-reason.txt) instead of retrying forever. Local copies go only
// after the put is confirmed (or move to <spool>/uploaded/ for
// storage.keep_uploaded).
package upload

import (
	"errors"
	"fmt"
	"net/url"
	"roomkiosk/internal/room"
	"time"
)

// Config is the [storage] section.
type Config struct {
	Endpoint        string        `toml:"endpoint"` // URL: http://127.0.0.1:9000 or https://minio.clinic.lan
	Bucket          string        `toml:"bucket"`
	CredentialsFile string        `toml:"credentials_file"` // TOML with access_key and secret_key, mode 0600
	CAFile          string        `toml:"ca_file"`          // extra CA for TLS, optional
	StatusInterval  room.Duration `toml:"status_interval"`  // status.json period
	BackoffMax      room.Duration `toml:"backoff_max"`      // cap of retry backoff
	KeepUploaded    room.Duration `toml:"keep_uploaded"`    // keep local copies this long after upload
	BandwidthKBps   int           `toml:"bandwidth_kbps"`   // 0 = unlimited
	Region          string        `toml:"region"`           // S3 region the server signs with ("" = us-east-1); never looked up: the device may not
	BacklogMaxAge   room.Duration `toml:"backlog_max_age"`  // the backlog check fails when the oldest unsent object is older (0 = 2h)
}

// Default returns the [storage] defaults.
func Default() Config {
	return Config{
		Bucket:         "roomkiosk",
		StatusInterval: room.Duration{Duration: 60 * time.Second},
		BackoffMax:     room.Duration{Duration: 5 * time.Minute},
		Region:         "us-east-1",
		BacklogMaxAge:  room.Duration{Duration: 2 * time.Hour},
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return errors.New("storage.endpoint: required (a URL such as https://minio.clinic.lan:9000)")
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("storage.endpoint: %q is not an http(s) URL", c.Endpoint)
	}
	switch {
	case c.Bucket == "":
		return errors.New("storage.bucket: required")
	case c.CredentialsFile == "":
		return errors.New("storage.credentials_file: required")
	case c.StatusInterval.Duration < time.Second:
		return fmt.Errorf("storage.status_interval: %v is too short", c.StatusInterval.Duration)
	case c.BackoffMax.Duration < time.Second:
		return fmt.Errorf("storage.backoff_max: %v is too short", c.BackoffMax.Duration)
	case c.KeepUploaded.Duration < 0:
		return fmt.Errorf("storage.keep_uploaded: %v must not be negative", c.KeepUploaded.Duration)
	case c.BandwidthKBps < 0:
		return fmt.Errorf("storage.bandwidth_kbps: %d must not be negative", c.BandwidthKBps)
	case c.CAFile != "" && u.Scheme != "https":
		return fmt.Errorf("storage.ca_file: set, but storage.endpoint %q is not https", c.Endpoint)
	case c.BacklogMaxAge.Duration != 0 && c.BacklogMaxAge.Duration < time.Minute:
		return fmt.Errorf("storage.backlog_max_age: %v is too short (at least 1m)", c.BacklogMaxAge.Duration)
	}
	return nil
}
