package miniostore_test

import (
	"context"
	"errors"
	"io"
	"strings"

	"roomkiosk/sync/store"
)

// prefixed rewrites keys from the device's own prefix to another one.
type prefixed struct {
	s      store.Store
	prefix string
}

func (p prefixed) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts store.PutOptions) (store.PutResult, error) {
	return p.s.Put(ctx, p.prefix+strings.TrimPrefix(key, "rooms/101/"), body, size, sum, opts)
}

func asErr(err error, target **store.Error) bool { return errors.As(err, target) }
