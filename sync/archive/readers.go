package archive

import (
	"context"
	"fmt"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// grantIndex lists every grant record once: room/session/fingerprint.
func (a *Archive) grantIndex(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.GrantsPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list grants: %w", obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindGrant {
			out[k.Room+"/"+k.Session+"/"+k.Device] = true
		}
	}
	return out, nil
}

// Mine keeps the rows identities can open, each with its Access (the roles
// the manifest names them in, or "grant"): a counselor's and a supervisor's
// view of the archive. Sessions whose manifest records no roles (written
// before roles) are left out unless a grant names the identity: they are
// escrow's. The roles are what the device wrote; a pull checks the age
// headers themselves.
func (a *Archive) Mine(ctx context.Context, rows []Session, ids []age.Identity) ([]Session, error) {
	rs := Recipients(ids)
	if len(rs) == 0 {
		return nil, fmt.Errorf("sessions: no X25519 identity to list the sessions of")
	}
	grants, err := a.grantIndex(ctx)
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, r := range rows {
		var access []string
		if r.Manifest != nil {
			for _, rc := range rs {
				access = append(access, r.Manifest.Roles(rc)...)
			}
		}
		for _, rc := range rs {
			if grants[r.Room+"/"+r.Session+"/"+manifest.Fingerprint(rc)] {
				access = append(access, "grant")
			}
		}
		if len(access) > 0 && r.Manifest != nil {
			r.Access = access
			out = append(out, r)
		}
	}
	return out, nil
}
