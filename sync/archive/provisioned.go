package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// Provisioning is what the admins' own records say of a room: the audit
// records `roomctl provision` (and its rotation) and `roomctl revoke` write
// under audit/, where no device can write. A room provisioned and never
// heard from is known only from them.
type Provisioning struct {
	Provisioned time.Time // the last successful provision or rotation
	Revoked     time.Time // the last successful revocation
}

// IsRevoked says whether the room's device keys were revoked after they
// were last made.
func (p Provisioning) IsRevoked() bool { return p.Revoked.After(p.Provisioned) }

// provisioningActions are the audit actions that make or cut a room's keys.
var provisioningActions = map[string]bool{"provision": true, "rotate": true, "revoke": true}

// maxAuditRecord bounds one audit record read (roomctl writes a few hundred
// bytes).
const maxAuditRecord = 64 << 10

// Provisioned reads the provision, rotate and revoke audit records and
// returns, for each room they name, when it was last provisioned and last
// revoked. Only these actions' records are read (the key names the action),
// and only successful ones count.
func (a *Archive) Provisioned(ctx context.Context) (map[string]Provisioning, error) {
	var keys []string
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range a.Client.ListObjects(ctx2, a.Bucket, minio.ListObjectsOptions{Prefix: layout.AuditPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list audit records: %w", obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindAudit && provisioningActions[k.Action] {
			keys = append(keys, obj.Key)
		}
	}
	recs := make([]layout.AuditRecord, len(keys))
	err := a.forEach(ctx, len(keys), func(ctx context.Context, i int) error {
		b, err := a.get(ctx, keys[i], maxAuditRecord)
		if err != nil {
			return fmt.Errorf("read audit record %s: %w", keys[i], err)
		}
		if err := json.Unmarshal(b, &recs[i]); err != nil {
			return fmt.Errorf("read audit record %s: %w", keys[i], err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]Provisioning{}
	for _, r := range recs {
		if r.Result != "ok" || layout.ValidRoomID(r.Room) != nil || !provisioningActions[r.Action] {
			continue
		}
		p := out[r.Room]
		if r.Action == "revoke" {
			if r.At.After(p.Revoked) {
				p.Revoked = r.At
			}
		} else if r.At.After(p.Provisioned) {
			p.Provisioned = r.At
		}
		out[r.Room] = p
	}
	return out, nil
}
