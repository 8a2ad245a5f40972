package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// GrantOptions say which session to grant to whom.
type GrantOptions struct {
	SessionID string
	Room      string // optional: narrows the search
	// Identities unwrap the segments' file keys: an escrow identity (or
	// any the session is encrypted to).
	Identities []age.Identity
	To         string // the new recipient, age1...
	By         string // who grants (the admin's access key), for the record
	// BeforeCommit, if set, runs once every header is made and before the
	// grant record that holds them is stored: roomctl audits here, so no
	// grant takes effect unaudited.
	BeforeCommit func(GrantResult) error
}

// GrantResult describes a grant.
type GrantResult struct {
	Session     Session  `json:"session"`
	Recipient   string   `json:"recipient"`
	Fingerprint string   `json:"fingerprint"`
	Headers     int      `json:"headers"`      // segment headers written
	Skipped     []string `json:"skipped"`      // partial segments cut before any audio: nothing to grant
	HeaderBytes int64    `json:"header_bytes"` // read from the bucket (range requests, headers only)
	Key         string   `json:"grant_key"`    // the grant record (all its headers)
}

// ParseRecipient checks an age X25519 recipient given on a command line.
func ParseRecipient(s string) (*age.X25519Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
		return nil, errors.New("--to: this is a secret key: give the recipient (age1...), which age-keygen -y prints")
	}
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, fmt.Errorf("--to %q: %w", s, err)
	}
	return r, nil
}

// Grant adds a recipient to an archived session without rewriting its
// audio: for each segment it reads the age header alone (a range request
// on the segment's first version), unwraps the file key with o.Identities,
// and stores a new header that wraps the same key to o.To, all in one grant
// record under grants/. Running it again rewrites the same grant.
func (a *Archive) Grant(ctx context.Context, o GrantOptions) (GrantResult, error) {
	var res GrantResult
	to, err := ParseRecipient(o.To)
	if err != nil {
		return res, fmt.Errorf("grant: %w", err)
	}
	if len(o.Identities) == 0 {
		return res, errors.New("grant: no identity to unwrap the file keys with (an escrow identity)")
	}
	res.Recipient = to.String()
	res.Fingerprint = manifest.Fingerprint(res.Recipient)
	s, err := a.FindSession(ctx, o.SessionID, o.Room)
	if err != nil {
		return res, fmt.Errorf("grant: %w", err)
	}
	res.Session = s
	m := s.Manifest
	switch {
	case m == nil:
		return res, fmt.Errorf("grant %s: no recording in the archive (session %s)", o.SessionID, s.State)
	case m.Deleted:
		return res, fmt.Errorf("grant %s: its audio was deleted at a participant's request", o.SessionID)
	}
	if roles := m.Roles(res.Recipient); len(roles) > 0 {
		return res, fmt.Errorf("grant %s: the session is encrypted to %s already (as %s): nothing to grant", o.SessionID, res.Recipient, strings.Join(roles, ", "))
	}
	prefix := s.Key[:len(s.Key)-len(manifest.FileName)]
	headers := make([][]byte, len(m.Segments))
	var mu sync.Mutex
	err = a.forEach(ctx, len(m.Segments), func(ctx context.Context, i int) error {
		sg := m.Segments[i]
		hdr, n, err := a.readHeader(ctx, s, prefix+sg.Name, sg.Bytes)
		mu.Lock()
		res.HeaderBytes += n
		mu.Unlock()
		if err != nil && sg.Partial && sg.Samples == 0 {
			// Cut before its first chunk: a pull skips it too.
			mu.Lock()
			res.Skipped = append(res.Skipped, sg.Name)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return &SegmentError{Name: sg.Name, Key: prefix + sg.Name, Err: err}
		}
		if headers[i], err = rewrapHeader(hdr, o.Identities, to); err != nil {
			return &SegmentError{Name: sg.Name, Key: prefix + sg.Name, Err: err}
		}
		return nil
	})
	sort.Strings(res.Skipped)
	if err != nil {
		return res, fmt.Errorf("grant %s: %w", o.SessionID, err)
	}
	g := layout.Grant{Version: layout.GrantVersion, SessionID: s.Session, RoomID: s.Room, Recipient: res.Recipient,
		GrantedAt: time.Now().UTC(), By: o.By, Headers: map[string]string{}}
	for i, h := range headers {
		if h != nil {
			g.Headers[m.Segments[i].Name] = string(h)
		}
	}
	g.Segments, res.Headers = len(g.Headers), len(g.Headers)
	res.Key = layout.GrantKey(s.Room, s.Session, res.Fingerprint)
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(res); err != nil {
			return res, fmt.Errorf("grant %s: %w", o.SessionID, err)
		}
	}
	b, err := json.Marshal(g)
	if err != nil {
		return res, fmt.Errorf("grant %s: %w", o.SessionID, err)
	}
	if err := a.putSmall(ctx, res.Key, append(b, '\n'), "application/json"); err != nil {
		return res, fmt.Errorf("grant %s: %w", o.SessionID, err)
	}
	return res, nil
}

func (a *Archive) putSmall(ctx context.Context, key string, b []byte, ctype string) error {
	_, err := a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		ContentType: ctype, Checksum: minio.ChecksumSHA256})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// readHeader reads the age header of a segment's stored version with range
// requests (a few KiB, never the audio) and returns it with the bytes read.
// The version is the one of the manifest's size; a segment a device wrote
// over with another of that size is refused (which one is genuine shows
// only from the whole ciphertext, which a grant does not read).
func (a *Archive) readHeader(ctx context.Context, s Session, key string, size int64) ([]byte, int64, error) {
	var vs []version
	for _, v := range s.objects.Keys[key].writtenVersions() {
		if v.Size == size {
			vs = append(vs, v)
		}
	}
	switch {
	case len(vs) == 0:
		return nil, 0, ErrMissing
	case len(vs) > 1:
		return nil, 0, fmt.Errorf("%d versions of the manifest's size (written over after upload): a grant reads headers only and cannot tell the genuine one; pull the session with --original and keep the grant for after the tampering is settled", len(vs))
	}
	v := vs[0]
	var read int64
	for _, size := range []int64{headerProbe, maxAgeHeader} {
		size = min(size, v.Size)
		opts := minio.GetObjectOptions{VersionID: v.ID}
		if err := opts.SetRange(0, size-1); err != nil {
			return nil, read, err
		}
		obj, err := a.Client.GetObject(ctx, a.Bucket, key, opts)
		if err != nil {
			return nil, read, fmt.Errorf("read header: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(obj, size))
		obj.Close()
		read += int64(len(b))
		if err != nil {
			if isNoSuchKey(err) {
				return nil, read, ErrMissing
			}
			return nil, read, fmt.Errorf("read header: %w", err)
		}
		n, err := headerLength(b)
		if errors.Is(err, errNoHeaderEnd) && size < v.Size && size < maxAgeHeader {
			continue
		}
		if err != nil {
			return nil, read, err
		}
		return b[:n], read, nil
	}
	return nil, read, errNoHeaderEnd
}

// Revoke removes every version of a recipient's grant of a session,
// bypassing governance retention as deletions do
// (admin credentials). The next pull with that identity is refused. What a
// recipient pulled before stays with them.
func (a *Archive) Revoke(ctx context.Context, sessionID, room, recipient string) ([]ObjectVersion, error) {
	r, err := ParseRecipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	if !layout.ValidSessionID(sessionID) {
		return nil, fmt.Errorf("revoke: %q is not a session id", sessionID)
	}
	rooms := []string{room}
	if room == "" {
		if rooms, err = a.grantRooms(ctx, sessionID); err != nil {
			return nil, fmt.Errorf("revoke %s: %w", sessionID, err)
		}
	}
	fp := manifest.Fingerprint(r.String())
	var vs []ObjectVersion
	for _, rm := range rooms {
		prefix := layout.GrantPrefix(rm, sessionID, fp)
		for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("revoke %s: list %s: %w", sessionID, prefix, obj.Err)
			}
			vs = append(vs, ObjectVersion{Key: obj.Key, VersionID: obj.VersionID})
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("revoke %s: no grant of this session to %s", sessionID, r)
	}
	done, err := a.RemoveVersions(ctx, vs)
	if err != nil {
		return done, fmt.Errorf("revoke %s: %w", sessionID, err)
	}
	return done, nil
}

// grantRooms lists the rooms that hold grants of a session.
func (a *Archive) grantRooms(ctx context.Context, sessionID string) ([]string, error) {
	var rooms []string
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.GrantsPrefix}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list grants: %w", obj.Err)
		}
		r := strings.TrimSuffix(strings.TrimPrefix(obj.Key, layout.GrantsPrefix), "/")
		if layout.ValidRoomID(r) == nil {
			rooms = append(rooms, r)
		}
	}
	return rooms, nil
}

// Grants lists the grant records of a session (an admin's view of who was
// given access beyond the roles in its manifest). Records that do not parse
// are reported as errors.
func (a *Archive) Grants(ctx context.Context, room, sessionID string) ([]layout.Grant, error) {
	var out []layout.Grant
	prefix := layout.SessionGrantsPrefix(room, sessionID)
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list grants of %s: %w", sessionID, obj.Err)
		}
		k, err := layout.Parse(obj.Key)
		if err != nil || k.Kind != layout.KindGrant {
			continue
		}
		g, err := a.grantRecord(ctx, room, sessionID, k.Device)
		if err != nil {
			return nil, err
		}
		if g != nil {
			out = append(out, *g)
		}
	}
	return out, nil
}

// grantRecord reads a grant's record; nil if there is none.
func (a *Archive) grantRecord(ctx context.Context, room, sessionID, fp string) (*layout.Grant, error) {
	key := layout.GrantKey(room, sessionID, fp)
	b, err := a.get(ctx, key, layout.MaxGrantBytes)
	if err != nil {
		if isNoSuchKey(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read grant %s: %w", key, err)
	}
	g, err := layout.ParseGrant(b)
	if err != nil {
		return nil, fmt.Errorf("grant %s: %w", key, err)
	}
	if g.SessionID != sessionID || g.RoomID != room || manifest.Fingerprint(g.Recipient) != fp {
		return nil, fmt.Errorf("grant %s: its record names another session, room or recipient", key)
	}
	return g, nil
}

// NotYoursError refuses a pull by an identity the session is not encrypted
// to and was not granted, without downloading anything.
type NotYoursError struct {
	Session string
	Roles   map[string]int // role -> how many keys
}

func (e *NotYoursError) Error() string {
	var parts []string
	for _, r := range []string{manifest.RoleEscrow, manifest.RoleCounselor, manifest.RoleSupervisor} {
		if n := e.Roles[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s (%d)", r, n))
		}
	}
	return fmt.Sprintf("session %s is not yours: it is encrypted to %s, and your identity is none of them and holds no grant (an admin can add one: roomctl grant %s --to YOUR-RECIPIENT)",
		e.Session, strings.Join(parts, ", "), e.Session)
}

// Recipients returns the X25519 recipients of identities (others have none
// a manifest could name).
func Recipients(ids []age.Identity) []string {
	var out []string
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			out = append(out, x.Recipient().String())
		}
	}
	return out
}

// Access says how identities open a session: directly (the roles in its
// manifest name one of them, or the manifest names no roles), through a
// grant (its fingerprint), or not at all (*NotYoursError).
func (a *Archive) Access(ctx context.Context, s Session, ids []age.Identity) (roles []string, grant *layout.Grant, err error) {
	m := s.Manifest
	if m == nil {
		return nil, nil, nil
	}
	rs := Recipients(ids)
	for _, r := range rs {
		roles = append(roles, m.Roles(r)...)
	}
	if len(roles) > 0 {
		return roles, nil, nil
	}
	for _, r := range rs {
		g, err := a.grantRecord(ctx, s.Room, s.Session, manifest.Fingerprint(r))
		if err != nil {
			return nil, nil, err
		}
		if g != nil {
			return []string{"grant"}, g, nil
		}
	}
	if len(m.EncryptedTo) == 0 || len(rs) < len(ids) {
		// Roles not recorded (an older manifest), or an identity whose
		// recipient cannot be told: try it.
		return nil, nil, nil
	}
	e := &NotYoursError{Session: s.Session, Roles: map[string]int{}}
	for _, acc := range m.EncryptedTo {
		e.Roles[acc.Role]++
	}
	return nil, nil, e
}

// grantedHeader returns the grant's header of one segment; ErrMissing if
// it has none.
func grantedHeader(g *layout.Grant, name string) ([]byte, error) {
	h, ok := g.Headers[name]
	if !ok {
		return nil, fmt.Errorf("%w: the grant has no header for it (grant again)", ErrMissing)
	}
	n, err := headerLength([]byte(h))
	if err != nil || n != len(h) {
		return nil, fmt.Errorf("the grant's header for %s is not one age header", name)
	}
	return []byte(h), nil
}
