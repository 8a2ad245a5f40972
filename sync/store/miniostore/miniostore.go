// Package miniostore is the store.Store the daemon uses: minio-go against a
// MinIO (or any S3) server, with write-only credentials.
//
// Design notes, verified against the pinned MinIO server by the conformance
// suite (storetest) and this package's tests:
//   - Every put carries x-amz-checksum-sha256 (the manifest's SHA-256); the
//     server recomputes it and answers BadDigest/XAmzContentChecksumMismatch
//     instead of storing a corrupted object.
//   - IfAbsent sends If-None-Match: *. MinIO answers 412 PreconditionFailed
//     when the key exists, also to a user who may only PutObject, and stores
//     no new version: that is what makes retried uploads idempotent on the
//     versioned, object-locked bucket.
//   - The region is configured, never looked up: GetBucketLocation needs a
//     right the device does not have.
//   - The Date header of every answer is kept to measure clock offset.
package miniostore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"roomkiosk/sync/store"
)

// Config says where and how to connect.
type Config struct {
	Endpoint      string // URL: http://127.0.0.1:9000 or https://minio.clinic.lan
	Bucket        string
	Region        string // default us-east-1 (MinIO's default)
	AccessKey     string
	SecretKey     string
	CAFile        string // PEM file with extra trusted CAs, optional
	BandwidthKBps int    // upload limit in KiB/s, 0 = unlimited
	// MaxRetries is how often minio-go itself retries a request (default 1:
	// no retry; the upload queue has its own backoff and must see failures).
	MaxRetries int
}

// Store implements store.Store.
type Store struct {
	client *minio.Client
	bucket string

	mu         sync.Mutex
	serverTime time.Time
	localTime  time.Time
}

// New makes a store. It does not contact the server.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("miniostore: endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("miniostore: endpoint %q must not have a path", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("miniostore: bucket required")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("miniostore: access key and secret key required")
	}
	secure := u.Scheme == "https"
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("miniostore: transport: %w", err)
	}
	if cfg.CAFile != "" {
		if !secure {
			return nil, fmt.Errorf("miniostore: CA file %s given for a plain http endpoint", cfg.CAFile)
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("miniostore: read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("miniostore: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if cfg.BandwidthKBps > 0 {
		lim := newLimiter(cfg.BandwidthKBps * 1024)
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &limitedConn{Conn: c, lim: lim}, nil
		}
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	retries := cfg.MaxRetries
	if retries <= 0 {
		retries = 1
	}
	s := &Store{bucket: cfg.Bucket}
	s.client, err = minio.New(u.Host, &minio.Options{
		Creds:           credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:          secure,
		Transport:       &dateRecorder{next: tr, s: s},
		Region:          region,
		TrailingHeaders: true,
		MaxRetries:      retries,
		BucketLookup:    minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("miniostore: client: %w", err)
	}
	return s, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts store.PutOptions) (store.PutResult, error) {
	po := minio.PutObjectOptions{
		ContentType:      opts.ContentType,
		DisableMultipart: true, // one request: segments are about 1 MB
		// The payload is not hashed again for the signature: the server
		// verifies x-amz-checksum-sha256 over the whole body instead.
		DisableContentSha256: true,
		UserMetadata: map[string]string{
			"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum[:]),
		},
	}
	if opts.IfAbsent {
		po.SetMatchETagExcept("*")
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, body, size, po)
	res := s.lastTimes()
	if err != nil {
		return res, classify(key, err)
	}
	return res, nil
}

// LastServerTime returns the Date of the last answer from the server and
// the local time it arrived (zero if none yet).
func (s *Store) LastServerTime() (server, local time.Time) {
	r := s.lastTimes()
	return r.ServerTime, r.LocalTime
}

func (s *Store) lastTimes() store.PutResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return store.PutResult{ServerTime: s.serverTime, LocalTime: s.localTime}
}

type dateRecorder struct {
	next http.RoundTripper
	s    *Store
}

func (d *dateRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err == nil {
		if t, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			now := time.Now()
			d.s.mu.Lock()
			d.s.serverTime, d.s.localTime = t, now
			d.s.mu.Unlock()
		}
	}
	return resp, err
}

// Codes that retrying will not fix until someone changes credentials,
// policy, bucket or configuration.
var permanentCodes = map[string]bool{
	"AccessDenied":                 true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"NoSuchBucket":                 true,
	"InvalidBucketName":            true,
	"InvalidObjectName":            true,
	"XMinioInvalidObjectName":      true,
	"KeyTooLongError":              true,
	"EntityTooLarge":               true,
	"MethodNotAllowed":             true,
	"AuthorizationHeaderMalformed": true,
	"InvalidRegion":                true,
	"RequestTimeTooSkewed":         true, // the device clock is off by > 15 min
	"XMinioAdminAccountDisabled":   true,
}

var checksumCodes = map[string]bool{
	"BadDigest":                   true,
	"InvalidDigest":               true,
	"XAmzContentChecksumMismatch": true,
	"XAmzContentSHA256Mismatch":   true,
	"XAmzChecksumMismatch":        true,
}

func classify(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	code := resp.Code
	switch {
	case code == "PreconditionFailed" || (code == "" && resp.StatusCode == http.StatusPreconditionFailed):
		return &store.Error{Key: key, Code: "PreconditionFailed", Kind: store.Permanent, Err: store.ErrExists}
	case permanentCodes[code]:
		return &store.Error{Key: key, Code: code, Kind: store.Permanent, Err: err}
	case checksumCodes[code]:
		return &store.Error{Key: key, Code: code, Kind: store.Checksum, Err: err}
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return &store.Error{Key: key, Code: code, Kind: store.Permanent, Err: err}
	case isTLSTrust(err):
		return &store.Error{Key: key, Code: "TLSVerify", Kind: store.Permanent, Err: err}
	case code == "" && strings.Contains(err.Error(), "Checksum requires"):
		return &store.Error{Key: key, Kind: store.Permanent, Err: err}
	}
	return &store.Error{Key: key, Code: code, Kind: store.Temporary, Err: err}
}

func isTLSTrust(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv)
}
