// Package store is the small object-storage port the device uploads through:
// one write operation, with a SHA-256 checksum the server verifies and an
// optional "only if absent" condition that makes keys idempotent.
//
// It is deliberately write-only: a device's credentials may PutObject under
// rooms/<room>/ and do nothing else (no get, list or delete), so the uploader
// must never depend on reading back. Admin tools (roomctl) read the archive
// with their own client and credentials.
//
// Implementations: miniostore (minio-go, used by the daemon) and memstore (in
// memory, for unit tests). storetest is the one conformance suite both pass.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Store puts objects.
type Store interface {
	// Put stores size bytes from body under key. sum is the SHA-256 of the
	// bytes; the server recomputes it and refuses the object if it differs,
	// so a corrupted transfer never lands. body must be at its start; it is
	// read once (or, after a seek to the start, again by a retry inside the
	// implementation).
	//
	// With opts.IfAbsent the put succeeds only if no object has the key yet;
	// if one does, Put returns an error matching ErrExists and stores
	// nothing (on a versioned bucket a plain re-put would add a version).
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts PutOptions) (PutResult, error)
}

// PutOptions modify a put.
type PutOptions struct {
	IfAbsent    bool   // idempotent key: "already exists" is reported as ErrExists
	ContentType string // default application/octet-stream
}

// PutResult is what a successful put (or an ErrExists) tells.
type PutResult struct {
	// ServerTime is the server's clock at the answer (the Date header, one
	// second resolution), zero if the answer had none; LocalTime is the
	// device's clock when the answer arrived. Their difference is the clock
	// offset that the clock check reports.
	ServerTime time.Time
	LocalTime  time.Time
}

// ErrExists is matched (errors.Is) by the error of an IfAbsent put whose key
// already has an object. For an idempotent upload it means success.
var ErrExists = errors.New("object already exists")

// Kind says what a caller should do about a failed put.
type Kind int

const (
	// Temporary: network down, server busy, timeout. Retry with backoff.
	Temporary Kind = iota
	// Permanent: wrong credentials, access denied, bucket missing, bad
	// configuration. Retrying the same thing will not help until an admin
	// acts; report it and retry only rarely.
	Permanent
	// Checksum: the server computed a different SHA-256 than the one sent.
	// The bytes changed in transit or on disk; the caller re-verifies the
	// file before trying again.
	Checksum
)

func (k Kind) String() string {
	switch k {
	case Permanent:
		return "permanent"
	case Checksum:
		return "checksum"
	default:
		return "temporary"
	}
}

// Error is a failed put.
type Error struct {
	Key  string
	Code string // the server's error code (AccessDenied, NoSuchBucket, ...) or ""
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("put %s: %s (%s): %v", e.Key, e.Code, e.Kind, e.Err)
	}
	return fmt.Sprintf("put %s (%s): %v", e.Key, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: the Kind of a *Error in its chain, and
// Temporary for anything else (a network error, a cancelled context).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Temporary
}

// IsPermanent reports whether err is a permanent failure.
func IsPermanent(err error) bool { return err != nil && KindOf(err) == Permanent }
