package memstore_test

import (
	"errors"
	"testing"

	"roomkiosk/sync/store"
	"roomkiosk/sync/store/internal/storetest"
	"roomkiosk/sync/store/memstore"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := memstore.New()
		denied := memstore.New()
		denied.FailWith(func(key string) error {
			return &store.Error{Key: key, Code: "AccessDenied", Kind: store.Permanent, Err: errors.New("access denied")}
		})
		return storetest.Harness{
			Store:  s,
			Prefix: "rooms/101/",
			Inspect: func(t *testing.T, key string) ([]byte, int) {
				b, _ := s.Get(key)
				return b, s.Versions(key)
			},
			Denied: denied,
		}
	})
}
