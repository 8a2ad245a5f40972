// Package admin holds what roomctl needs to administer the object store with
// admin credentials: the connection, bucket set-up, per-room device policies
// and provisioning through the mc client, the audit log and deletion
// requests. It never imports MinIO's admin library (AGPL): user and policy
// management runs the mc program as a separate process.
package admin

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Conn says where the server is and which admin credentials to use.
type Conn struct {
	Endpoint  string // URL: http://127.0.0.1:9000 or https://minio.clinic.lan
	AccessKey string
	SecretKey string
	Bucket    string
	CAFile    string // extra CA (PEM) trusted for TLS; optional
}

// FromEnv fills the fields left empty from ROOMCTL_ENDPOINT,
// ROOMCTL_ACCESS_KEY, ROOMCTL_SECRET_KEY, ROOMCTL_BUCKET and ROOMCTL_CA.
// Flags win over the environment.
func (c Conn) FromEnv(getenv func(string) string) Conn {
	fill := func(v *string, key string) {
		if *v == "" {
			*v = getenv(key)
		}
	}
	fill(&c.Endpoint, "ROOMCTL_ENDPOINT")
	fill(&c.AccessKey, "ROOMCTL_ACCESS_KEY")
	fill(&c.SecretKey, "ROOMCTL_SECRET_KEY")
	fill(&c.Bucket, "ROOMCTL_BUCKET")
	fill(&c.CAFile, "ROOMCTL_CA")
	return c
}

// Validate names every missing or malformed setting at once, with the flag
// and the environment variable that set it.
func (c Conn) Validate() error {
	var missing []string
	if c.Endpoint == "" {
		missing = append(missing, "endpoint (--endpoint or ROOMCTL_ENDPOINT)")
	}
	if c.AccessKey == "" {
		missing = append(missing, "access key (--access-key or ROOMCTL_ACCESS_KEY)")
	}
	if c.SecretKey == "" {
		missing = append(missing, "secret key (ROOMCTL_SECRET_KEY or --secret-key-file)")
	}
	if c.Bucket == "" {
		missing = append(missing, "bucket (--bucket or ROOMCTL_BUCKET)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if _, err := c.url(); err != nil {
		return err
	}
	return nil
}

func (c Conn) url() (*url.URL, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL such as https://minio.clinic.lan:9000", c.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("endpoint %q must not have a path", c.Endpoint)
	}
	return u, nil
}

// Client opens a minio-go client for the connection.
func (c Conn) Client() (*minio.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	u, _ := c.url()
	secure := u.Scheme == "https"
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("make transport: %w", err)
	}
	// status and sessions fetch many small objects at once: keep enough idle
	// connections for the worker pool.
	tr.MaxIdleConnsPerHost = 128
	if c.CAFile != "" {
		if !secure {
			return nil, fmt.Errorf("ca file %s given but endpoint %s is not https", c.CAFile, c.Endpoint)
		}
		pool, err := caPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	cl, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:    secure,
		Transport: http.RoundTripper(tr),
		Region:    "us-east-1", // skips a GetBucketLocation round trip per bucket
		// Checksummed puts (audit records) send the checksum as a trailer.
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.Endpoint, err)
	}
	return cl, nil
}

func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read ca file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// ErrorCode returns the S3 error code of err ("AccessDenied",
// "NoSuchKey", ...), or "" when err is not an S3 error response.
func ErrorCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return minio.ToErrorResponse(err).Code
}
