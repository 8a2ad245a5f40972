package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// Disposal removes every version of every object of a session whose
// retention has ended (or that an admin asked to erase) and that is not
// held, and leaves a certificate under audit/certificates/. Each session is
// its own unit, in three steps that survive a kill at any point:
//
//  1. intent: every version to remove, with its size and hash, is written
//     to admin/disposals/<room>/<session>.json before anything is removed;
//  2. removal of every version (a re-run lists again, so versions removed
//     before a kill are simply gone, and versions written since are added);
//  3. the certificate, put once (If-None-Match: a re-run after it finds it
//     and makes no second), then the intent retired.
//
// The certificate is the disposal's audit record (it lives under audit/,
// where no device can write); the run adds one audit record naming every
// certificate it wrote.
//
// A re-run resumes every intent it finds first. Retention-ended disposals
// never bypass governance retention: the server itself refuses a version
// it still retains, and nothing passes a legal hold. Only an admin's
// erasure request bypasses governance retention (never a hold).
//
// Why not MinIO's lifecycle rules (ILM expiry): a rule expires by prefix or
// tag and object age, counted from each version's upload; a session's class
// is decided by the admin's policy from the room and the device's record,
// an extension is per session, and an erasure request is now. Rules could
// honour holds (the server skips held versions) but not classes decided
// after upload without tagging every object (a right devices must not
// have), and they leave no certificate of what went. So roomctl decides and
// the server enforces: its retention and legal holds refuse every removal
// roomctl should not make.

// DisposalStep names the point a disposal reached (for tests that stop a
// run there, as a kill would).
type DisposalStep string

// The steps, in order.
const (
	StepIntent      DisposalStep = "intent"      // the intent is written
	StepRemovedOne  DisposalStep = "removed-one" // the first version is removed
	StepRemoved     DisposalStep = "removed"     // every version is removed (checked on the server)
	StepCertificate DisposalStep = "certificate" // the certificate is written
	StepRetired     DisposalStep = "intent-gone" // the intent is retired: done
)

// DisposeOptions say what a disposal run does.
type DisposeOptions struct {
	Now     time.Time // the decision's time (zero: time.Now)
	DryRun  bool      // decide and report, change nothing
	Who     string    // the admin's access key, in certificates and audit records
	Room    string    // only this room
	Session string    // only this session: an error says why it cannot be disposed of
	Limit   int       // at most this many sessions this run (0: all); the rest next run
	// Audit must store the record durably: one per run that disposed of
	// anything, naming the certificates.
	Audit func(layout.AuditRecord) error
	// Step, if set, is called after each step; an error stops the run there.
	Step func(step DisposalStep, room, session string) error
}

// DisposalOutcome is one session's row of a disposal run.
type DisposalOutcome struct {
	Room        string    `json:"room"`
	Session     string    `json:"session"`
	Class       string    `json:"retention_class,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	Reason      string    `json:"reason"`   // retention-ended or erasure:<code>
	Result      string    `json:"result"`   // disposed, would dispose (dry run), held, retained, or the error
	Versions    int       `json:"versions"` // versions removed (or to remove)
	Bytes       int64     `json:"bytes"`
	Certificate string    `json:"certificate,omitempty"`
	Resumed     bool      `json:"resumed,omitempty"` // finished a disposal a previous run left
}

// Disposal refusals.
var (
	ErrHeld     = errors.New("under legal hold")
	ErrRetained = errors.New("retention has not ended")
)

// candidate is a session a run will try to dispose of.
type candidate struct {
	room, session, class, reason string
	until                        time.Time
	intent                       bool // an interrupted disposal to finish
	erasureKey                   string
}

// Dispose runs a disposal: every interrupted disposal first, then every
// session whose retention has ended or whose erasure was requested, that
// is not held. The error is the first failure; the outcomes say what each
// session came to.
func (a *Archive) Dispose(ctx context.Context, opts DisposeOptions) ([]DisposalOutcome, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Audit == nil {
		return nil, errors.New("dispose: no audit writer")
	}
	if opts.Session != "" && !layout.ValidSessionID(opts.Session) {
		return nil, fmt.Errorf("dispose: session %q: not a session id", opts.Session)
	}
	f := Filter{Room: opts.Room}
	rows, err := a.Sessions(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("dispose: %w", err)
	}
	l, err := a.readLifecycle(ctx)
	if err != nil {
		return nil, fmt.Errorf("dispose: %w", err)
	}
	if l.policy == nil {
		return nil, fmt.Errorf("dispose: %w", ErrNoPolicy)
	}
	var cands []candidate
	var out []DisposalOutcome
	found := false
	for _, r := range rows {
		if opts.Session != "" && r.Session != opts.Session {
			continue
		}
		found = true
		id := r.Room + "/" + r.Session
		c := candidate{room: r.Room, session: r.Session, class: r.Class, until: r.RetainUntil, reason: layout.DisposalRetentionEnded}
		if e := l.erasures[id]; e != nil {
			c.reason, c.erasureKey = layout.DisposalErasurePrefix+e.Reason, layout.ErasureKey(r.Room, r.Session)
		}
		o := DisposalOutcome{Room: r.Room, Session: r.Session, Class: r.Class, RetainUntil: r.RetainUntil, Reason: c.reason}
		switch {
		case r.State == StateDisposed && r.CertificateKey != "" && l.disposals[id] == "" && len(r.Warnings) == 0:
			continue // done before
		case l.disposals[id] != "":
			c.intent = true
		case r.Held:
			o.Result = fmt.Sprintf("held (%s): not disposed of", r.HoldReason)
			if opts.Session != "" {
				return []DisposalOutcome{o}, fmt.Errorf("dispose %s: %w (%s): clear the hold first", r.Session, ErrHeld, r.HoldReason)
			}
			if c.erasureKey != "" || !r.RetainUntil.After(opts.Now) {
				out = append(out, o) // due, but held: say so
			}
			continue
		case r.Tampered && opts.Session == "":
			// Evidence of a thief's writes: an admin looks before it goes
			// (docs/ARCHIVE-TRUTH.md, nothing destructive on disputed
			// evidence), then names it.
			if c.erasureKey != "" || !r.RetainUntil.After(opts.Now) {
				o.Result = "TAMPERED: not disposed of in a run; look at it, then dispose --session " + r.Session
				out = append(out, o)
			}
			continue
		case c.erasureKey == "" && r.RetainUntil.After(opts.Now):
			if opts.Session != "" {
				o.Result = "retained until " + r.RetainUntil.UTC().Format(time.RFC3339)
				return []DisposalOutcome{o}, fmt.Errorf("dispose %s: %w: class %s keeps it until %s", r.Session, ErrRetained, r.Class, r.RetainUntil.UTC().Format(time.RFC3339))
			}
			continue
		}
		cands = append(cands, c)
	}
	if opts.Session != "" && !found {
		return nil, fmt.Errorf("dispose %s: no such session", opts.Session)
	}
	// Sort: interrupted disposals first, then oldest first.
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].intent != cands[j].intent {
			return cands[i].intent
		}
		return cands[i].session < cands[j].session
	})
	if opts.Limit > 0 && len(cands) > opts.Limit {
		cands = cands[:opts.Limit]
	}
	host, _ := os.Hostname()
	// One session's failure (a version the server still holds, a device
	// writing into the folder meanwhile) does not stop the others; the
	// first is returned. A cancelled run stops, as a kill would.
	outs := make([]DisposalOutcome, len(cands))
	errs := make([]error, len(cands))
	err = a.forEach(ctx, len(cands), func(ctx context.Context, i int) error {
		o, err := a.disposeOne(ctx, cands[i], opts, host)
		outs[i] = o
		if err != nil {
			if outs[i].Result == "" {
				outs[i].Result = err.Error()
			}
			errs[i] = fmt.Errorf("dispose %s of room %s: %w", cands[i].session, cands[i].room, err)
			if ctx.Err() != nil || opts.Session != "" || errors.Is(err, errStopped) {
				return errs[i]
			}
		}
		return nil
	})
	for _, e := range errs {
		if err == nil && e != nil {
			err = e
		}
	}
	rec := layout.AuditRecord{Action: "dispose", Room: opts.Room, Session: opts.Session}
	versions := 0
	for _, o := range outs {
		if o.Session != "" {
			out = append(out, o)
		}
		if o.Certificate != "" {
			rec.Objects = append(rec.Objects, o.Certificate)
			versions += o.Versions
		}
	}
	if len(rec.Objects) > 0 {
		rec.Detail = fmt.Sprintf("%d session(s) disposed of, %d version(s) removed; each certificate lists them", len(rec.Objects), versions)
		if err != nil {
			rec.Result = err.Error()
		}
		if aerr := opts.Audit(rec); aerr != nil {
			err = errors.Join(err, aerr)
		}
		var rooms []string
		for _, o := range outs {
			if o.Certificate != "" && !slices.Contains(rooms, o.Room) {
				rooms = append(rooms, o.Room)
			}
		}
		if ierr := a.refreshIndex(ctx, rooms); ierr != nil {
			err = errors.Join(err, fmt.Errorf("dispose: %w", ierr))
		}
	}
	return out, err
}

// errStopped wraps a Step's error: the run stops there, as a kill would.
var errStopped = errors.New("stopped")

func (a *Archive) step(opts DisposeOptions, s DisposalStep, c candidate) error {
	if opts.Step == nil {
		return nil
	}
	if err := opts.Step(s, c.room, c.session); err != nil {
		return fmt.Errorf("%w after step %s: %w", errStopped, s, err)
	}
	return nil
}

// disposeOne carries one session through the three steps.
func (a *Archive) disposeOne(ctx context.Context, c candidate, opts DisposeOptions, host string) (DisposalOutcome, error) {
	o := DisposalOutcome{Room: c.room, Session: c.session, Class: c.class, RetainUntil: c.until, Reason: c.reason, Resumed: c.intent}
	intentKey := layout.DisposalKey(c.room, c.session)
	bypass := strings.HasPrefix(c.reason, layout.DisposalErasurePrefix)
	var cert *layout.Certificate
	if c.intent {
		b, err := a.get(ctx, intentKey, maxCertificateBytes)
		if err != nil {
			return o, fmt.Errorf("read disposal intent %s: %w", intentKey, err)
		}
		if cert, err = layout.ParseCertificate(b); err != nil {
			return o, fmt.Errorf("disposal intent %s: %w", intentKey, err)
		}
		o.Class, o.RetainUntil, o.Reason = cert.Class, cert.RetainUntil, cert.Reason
		bypass = strings.HasPrefix(cert.Reason, layout.DisposalErasurePrefix)
	}
	vs, err := a.sessionVersionInfos(ctx, c.room, c.session)
	if err != nil {
		return o, err
	}
	// Check every version on the server (its legal hold and retention),
	// noting its size and hash for the certificate.
	objs, err := a.certify(ctx, vs, opts.Now, bypass)
	if err != nil {
		o.Result = err.Error()
		if c.intent {
			return o, err
		}
		if errors.Is(err, ErrHeld) || errors.Is(err, ErrRetained) {
			// Refused before anything changed: reported, not fatal to
			// the run (the server agrees, or would refuse the removal).
			if opts.Session != "" {
				return o, err
			}
			return o, nil
		}
		return o, err
	}
	for _, ob := range objs {
		o.Versions++
		o.Bytes += ob.Size
	}
	if opts.DryRun {
		o.Result = "would dispose"
		if c.intent {
			o.Result = "would finish an interrupted disposal"
		}
		return o, nil
	}
	if cert == nil {
		cert = &layout.Certificate{Version: layout.CertificateVersion, SessionID: c.session, RoomID: c.room, Class: c.class,
			RetainUntil: c.until.UTC(), Reason: c.reason, PlannedAt: opts.Now.UTC(), Who: opts.Who, Host: host}
	}
	if added := mergeObjects(cert, objs); added > 0 || !c.intent {
		if err := a.putJSON(ctx, intentKey, cert, false); err != nil {
			return o, fmt.Errorf("write disposal intent: %w", err)
		}
		if err := a.step(opts, StepIntent, c); err != nil {
			return o, err
		}
	}
	for i, v := range vs {
		err := a.Client.RemoveObject(ctx, a.Bucket, v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: bypass})
		if err != nil {
			return o, fmt.Errorf("remove %s?versionId=%s: %w", v.Key, v.VersionID, err)
		}
		if i == 0 {
			if err := a.step(opts, StepRemovedOne, c); err != nil {
				return o, err
			}
		}
	}
	// Checked on the server: nothing of the session is left.
	left, err := a.sessionVersionInfos(ctx, c.room, c.session)
	if err != nil {
		return o, err
	}
	if len(left) > 0 {
		return o, fmt.Errorf("%d version(s) still stored after removal (written during the disposal?): run again", len(left))
	}
	if err := a.step(opts, StepRemoved, c); err != nil {
		return o, err
	}
	o.Versions, o.Bytes = len(cert.Objects), 0
	for _, ob := range cert.Objects {
		o.Bytes += ob.Size
	}
	cert.DisposedAt = time.Now().UTC()
	certKey := layout.CertificateKey(c.room, c.session)
	o.Certificate = certKey
	if err := a.putJSON(ctx, certKey, cert, true); err != nil && !errors.Is(err, errExists) {
		return o, fmt.Errorf("write certificate: %w", err)
	}
	if err := a.step(opts, StepCertificate, c); err != nil {
		return o, err
	}
	if err := a.retire(ctx, intentKey); err != nil {
		return o, fmt.Errorf("certified, but the intent stays: %w", err)
	}
	if c.erasureKey != "" {
		if err := a.retire(ctx, c.erasureKey); err != nil {
			return o, fmt.Errorf("certified, but the erasure request stays: %w", err)
		}
	}
	if err := a.step(opts, StepRetired, c); err != nil {
		return o, err
	}
	o.Result = "disposed"
	return o, nil
}

// maxCertificateBytes bounds an intent read back (a session of many hours
// has a few hundred objects).
const maxCertificateBytes = 8 << 20

// certify stats every version on the server: a legal hold refuses the
// disposal (ErrHeld), and so does a retention the server still applies
// unless bypass (an erasure request).
func (a *Archive) certify(ctx context.Context, vs []minio.ObjectInfo, now time.Time, bypass bool) ([]layout.CertifiedObject, error) {
	var out []layout.CertifiedObject
	for _, v := range vs {
		co := layout.CertifiedObject{Key: v.Key, VersionID: v.VersionID, LastModified: v.LastModified.UTC(), DeleteMarker: v.IsDeleteMarker}
		if v.IsDeleteMarker {
			out = append(out, co)
			continue
		}
		st, err := a.Client.StatObject(ctx, a.Bucket, v.Key, minio.StatObjectOptions{VersionID: v.VersionID, Checksum: true})
		if err != nil {
			return nil, fmt.Errorf("stat %s?versionId=%s: %w", v.Key, v.VersionID, err)
		}
		if strings.EqualFold(st.Metadata.Get("X-Amz-Object-Lock-Legal-Hold"), "ON") {
			return nil, fmt.Errorf("%w on the server: %s?versionId=%s", ErrHeld, v.Key, v.VersionID)
		}
		if u := st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); u != "" && !bypass {
			t, err := time.Parse(time.RFC3339, u)
			if err != nil {
				return nil, fmt.Errorf("stat %s: retain-until %q: %w", v.Key, u, err)
			}
			if t.After(now) {
				return nil, fmt.Errorf("%w on the server: it retains %s?versionId=%s until %s", ErrRetained, v.Key, v.VersionID, t.UTC().Format(time.RFC3339))
			}
		}
		co.Size, co.ETag, co.SHA256 = st.Size, strings.Trim(st.ETag, `"`), st.ChecksumSHA256
		out = append(out, co)
	}
	return out, nil
}

// mergeObjects adds to cert the versions it does not list yet.
func mergeObjects(cert *layout.Certificate, objs []layout.CertifiedObject) int {
	have := map[string]bool{}
	for _, o := range cert.Objects {
		have[o.Key+"\x00"+o.VersionID] = true
	}
	n := 0
	for _, o := range objs {
		if !have[o.Key+"\x00"+o.VersionID] {
			cert.Objects = append(cert.Objects, o)
			n++
		}
	}
	return n
}

// Certificate reads a session's disposal certificate.
func (a *Archive) Certificate(ctx context.Context, room, session string) (*layout.Certificate, error) {
	b, err := a.get(ctx, layout.CertificateKey(room, session), maxCertificateBytes)
	if err != nil {
		return nil, fmt.Errorf("read certificate of %s: %w", session, err)
	}
	return layout.ParseCertificate(b)
}

// RequestErasure records an admin's request to erase a session before its
// retention ends (a client asked): `roomctl dispose` carries it out through
// the same certified path, unless the session is held.
func (a *Archive) RequestErasure(ctx context.Context, room, session, reason, who string) (Session, error) {
	if err := layout.ValidReasonCode(reason); err != nil {
		return Session{}, err
	}
	s, err := a.FindSession(ctx, session, room)
	if err != nil {
		return s, fmt.Errorf("erasure request %s: %w", session, err)
	}
	if s.State == StateDisposed {
		return s, fmt.Errorf("erasure request %s: disposed of on %s already", session, s.DisposedAt.UTC().Format("2006-01-02"))
	}
	if _, err := a.Client.StatObject(ctx, a.Bucket, layout.HoldKey(s.Room, session), minio.StatObjectOptions{}); err == nil {
		s.Held = true
	}
	rec := layout.ErasureRecord{Version: layout.ErasureVersion, SessionID: session, RoomID: s.Room, Reason: reason, At: time.Now().UTC(), Who: who}
	if err := a.putJSON(ctx, layout.ErasureKey(s.Room, session), rec, false); err != nil {
		return s, fmt.Errorf("erasure request %s: %w", session, err)
	}
	return s, nil
}
