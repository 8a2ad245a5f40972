package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/durable"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
	"roomkiosk/sync/layout"
)

// PullOptions says which session to pull and where to.
type PullOptions struct {
	SessionID  string
	Room       string // optional: narrows the search
	Identities []age.Identity
	Out        string // the WAV to write; written via a temporary file beside it
	Overwrite  bool   // replace Out if it exists
	// Original pulls a tampered session (one a device wrote over after
	// upload) from its genuine records: those every version agrees on, or
	// that an admin witness saw first; each segment is the version whose
	// SHA-256 the manifest holds. Without it such a session is refused with
	// a *TamperedError.
	Original bool
	// Progress, if set, is called after each segment is written.
	Progress func(Progress)
	// BeforeCommit, if set, runs once everything is verified and written to
	// the temporary file, before it is renamed to Out. An error aborts the
	// pull and leaves nothing at Out: roomctl writes its audit record here,
	// so no recording leaves the archive unaudited.
	BeforeCommit func(PullResult) error
}

// Progress reports a pull's advance.
type Progress struct {
	Done, Total int   // segments
	Bytes       int64 // ciphertext downloaded so far
	TotalBytes  int64
}

// PullResult describes a finished pull.
type PullResult struct {
	Session       Session  `json:"session"`
	Out           string   `json:"out"`
	Frames        int64    `json:"frames"`         // in the WAV, silence included
	SilenceFrames int64    `json:"silence_frames"` // inserted for gaps and lost tails
	Recovered     []string `json:"recovered"`      // partial segments whose authenticated prefix was used
	Bytes         int64    `json:"bytes"`          // ciphertext downloaded
	// Original: the session was tampered and was pulled from the first
	// versions of its objects (PullOptions.Original).
	Original bool `json:"original"`
	// Roles the identity holds in the session (escrow, counselor,
	// supervisor, or "grant"); none for a manifest without roles.
	Roles []string `json:"roles,omitempty"`
	// Grant is the fingerprint of the grant used, if any.
	Grant string `json:"grant,omitempty"`
}

// SegmentError names the segment that failed a pull.
type SegmentError struct {
	Name string // seg-000003.wav.age
	Key  string
	Err  error
}

func (e *SegmentError) Error() string {
	return fmt.Sprintf("segment %s (%s): %v", e.Name, e.Key, e.Err)
}
func (e *SegmentError) Unwrap() error { return e.Err }

// TamperedError refuses a session a device wrote over after its upload.
type TamperedError struct {
	Session string
	Keys    []string // "key (n versions)"
}

func (e *TamperedError) Error() string {
	return fmt.Sprintf("session %s is tampered: %s rewritten after upload; pull --original reads its genuine records (audited)",
		e.Session, strings.Join(e.Keys, ", "))
}

// ErrChecksum is wrapped when a segment's ciphertext differs from its
// manifest (damaged, or tampered before the manifest went up).
var ErrChecksum = errors.New("ciphertext does not match the manifest's sha256 (damaged or tampered)")

// ErrMissing is wrapped when a segment the manifest lists is not stored.
var ErrMissing = errors.New("missing from the archive")

// segFile is a segment downloaded and verified into a temporary file.
type segFile struct {
	path  string
	bytes int64
	hdr   []byte // a granted age header to use instead of the file's own
	empty bool   // a partial segment without audio that the grant skipped
	err   error
}

// Pull downloads a session's segments (several ahead, in parallel, each to
// a temporary file beside Out while its SHA-256 is checked against the
// manifest), then decrypts them one by one straight into one WAV: silence
// fills recorded gaps and the lost tails of partial segments, whose
// authenticated prefix is kept. Records are read as the server holds them
// (readRecord) and each segment at the version the manifest pins.
// Memory stays bounded whatever the session's length or its manifest
// claims; any failure leaves nothing at Out or beside it.
func (a *Archive) Pull(ctx context.Context, o PullOptions) (res PullResult, err error) {
	if len(o.Identities) == 0 {
		return res, errors.New("pull: no identity to decrypt with")
	}
	if o.Out == "" {
		return res, errors.New("pull: no output file")
	}
	if !o.Overwrite {
		if _, err := os.Lstat(o.Out); err == nil {
			return res, fmt.Errorf("pull: %s exists already (remove it or choose another name)", o.Out)
		}
	}
	s, err := a.FindSession(ctx, o.SessionID, o.Room)
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	res.Session = s
	m := s.Manifest
	if s.Tampered {
		if !o.Original {
			return res, fmt.Errorf("pull: %w", &TamperedError{Session: s.Session, Keys: s.TamperedKeys})
		}
		res.Original = true
	}
	if s.State == StateDisposed {
		return res, fmt.Errorf("pull %s: disposed of on %s (certificate %s): every version is gone from the server", o.SessionID, s.DisposedAt.UTC().Format("2006-01-02"), s.CertificateKey)
	}
	if m == nil && s.Tampered {
		return res, fmt.Errorf("pull %s: %w: its manifest is disputed (%s) and no admin witness saw one version first, so no version can be pulled as the original",
			o.SessionID, ErrDisputed, strings.Join(s.TamperedKeys, ", "))
	}
	if m == nil {
		// Listed from its summary or deletion record alone: no audio here.
		return res, fmt.Errorf("pull %s: no recording in the archive (session %s)", o.SessionID, s.State)
	}
	if m.Deleted {
		return res, fmt.Errorf("pull %s: its audio was deleted on the device at a participant's request; only the manifest was kept as a record", o.SessionID)
	}
	// Whose is it? Decided from the manifest's roles and the grants
	// before any audio is downloaded: "not yours" costs one request.
	roles, grant, err := a.Access(ctx, s, o.Identities)
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	res.Roles = roles
	if grant != nil {
		res.Grant = manifest.Fingerprint(grant.Recipient)
	}
	total, err := plan(m)
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
	}
	// The segments sit beside the manifest, in the folder it was listed in.
	mk, err := layout.Parse(s.Key)
	if err != nil || mk.Kind != layout.KindManifest {
		return res, fmt.Errorf("pull %s: manifest key %q: not a session's manifest", o.SessionID, s.Key)
	}
	segKey := func(name string) string { return layout.SegmentKey(mk.Room, mk.Day, mk.Session, name) }

	tmp, err := durable.CreateTemp(o.Out, durable.Options{Perm: 0o600})
	if err != nil {
		return res, fmt.Errorf("pull %s: create temporary file: %w", o.SessionID, err)
	}
	defer tmp.Abort() // after a Commit, nothing
	segDir, err := os.MkdirTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".segments-*")
	if err != nil {
		return res, fmt.Errorf("pull %s: create temporary folder: %w", o.SessionID, err)
	}
	defer os.RemoveAll(segDir)
	ww, err := newWAVWriter(tmp.File, m.Format.SampleRate, m.Format.Channels)
	if err != nil {
		return res, fmt.Errorf("pull %s: write %s: %w", o.SessionID, tmp.Name(), err)
	}

	// Download ahead into files: segment i's result arrives on results[i];
	// at most window segments wait on disk at once. Every download ends
	// before Pull returns, so the deferred RemoveAll leaves nothing.
	n := len(m.Segments)
	window := max(1, min(a.workers(), n))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	results := make([]chan segFile, n)
	for i := range results {
		results[i] = make(chan segFile, 1)
	}
	slots := make(chan struct{}, window)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := a.download(ctx, s, segKey(m.Segments[i].Name), m.Segments[i], segDir)
				if r.err == nil && grant != nil {
					// The granted header replaces the segment's own at
					// decryption; the ciphertext was verified as stored.
					sg := m.Segments[i]
					if r.hdr, r.err = grantedHeader(grant, sg.Name); r.err != nil {
						os.Remove(r.path)
						if errors.Is(r.err, ErrMissing) && sg.Partial && sg.Samples == 0 {
							// Cut before its first chunk: no audio, so the
							// grant skipped it.
							r = segFile{bytes: r.bytes, empty: true}
						}
					}
				}
				results[i] <- r
			}()
		}
	}()

	gapsAfter := map[int]int64{}
	for _, g := range m.Gaps {
		gapsAfter[g.AfterSegment] += g.Frames
	}
	var gapFrames int64 // silence for recorded gaps written so far
	prevIndex := 0
	for i, sg := range m.Segments {
		var r segFile
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		<-slots
		key := segKey(sg.Name)
		if r.err != nil {
			return res, fmt.Errorf("pull %s: %w", o.SessionID, &SegmentError{Name: sg.Name, Key: key, Err: r.err})
		}
		// Recorded gaps before this segment.
		if g := gapsAfter[prevIndex]; g > 0 {
			if err := ww.silence(g); err != nil {
				return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
			}
			gapFrames += g
			res.SilenceFrames += g
		}
		var pad int64
		recovered := r.empty
		if !r.empty {
			pad, recovered, err = a.decryptInto(ww, r.path, r.hdr, m, sg, o.Identities, gapFrames)
			os.Remove(r.path)
		}
		if err != nil {
			return res, fmt.Errorf("pull %s: %w", o.SessionID, &SegmentError{Name: sg.Name, Key: key, Err: err})
		}
		res.SilenceFrames += pad
		if recovered {
			res.Recovered = append(res.Recovered, sg.Name)
		}
		res.Bytes += r.bytes
		prevIndex = sg.Index
		if o.Progress != nil {
			o.Progress(Progress{Done: i + 1, Total: n, Bytes: res.Bytes, TotalBytes: total})
		}
	}
	if g := gapsAfter[prevIndex]; g > 0 && n > 0 {
		if err := ww.silence(g); err != nil {
			return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
		}
		res.SilenceFrames += g
	}
	res.Frames = ww.frames()
	if err := ww.finish(); err != nil {
		return res, fmt.Errorf("pull %s: finish %s: %w", o.SessionID, tmp.Name(), err)
	}
	res.Out = o.Out
	if o.BeforeCommit != nil {
		if err := o.BeforeCommit(res); err != nil {
			return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
		}
	}
	commit := tmp.Commit
	if !o.Overwrite {
		commit = tmp.CommitNew // never replace a file that appeared meanwhile
	}
	if err := commit(o.Out); err != nil {
		return res, fmt.Errorf("pull %s: write %s: %w", o.SessionID, o.Out, err)
	}
	return res, nil
}

// plan checks a manifest's sizes with arithmetic that cannot overflow (the
// manifest's own bounds are manifest.Validate's) and that the whole session
// fits one WAV; it returns the ciphertext total.
func plan(m *manifest.Manifest) (int64, error) {
	fb := int64(m.Format.Channels * 2)
	var total, gaps int64
	add := func(sum *int64, v int64) bool {
		if v < 0 || *sum > math.MaxInt64-v {
			return false
		}
		*sum += v
		return true
	}
	for _, sg := range m.Segments {
		if !add(&total, sg.Bytes) {
			return 0, errors.New("manifest sizes overflow")
		}
	}
	for _, g := range m.Gaps {
		if !add(&gaps, g.Frames) {
			return 0, errors.New("manifest gaps overflow")
		}
	}
	// Audio past 4 GiB is refused by the writer as it comes; silence that
	// long is refused before anything is downloaded.
	if gaps > maxWAVData/fb {
		return 0, errTooLong
	}
	return total, nil
}

// download fetches a segment into a file in dir: the version whose size
// and SHA-256 are the manifest's (checked as it streams). The manifest
// pins the segment's bytes, so versions a device added beside it, with
// whatever time, are never used; at most maxRecordVersions of the right
// size are tried.
func (a *Archive) download(ctx context.Context, s Session, key string, sg manifest.Segment, dir string) segFile {
	vs := s.objects.Keys[key].writtenVersions()
	if len(vs) == 0 {
		return segFile{err: ErrMissing}
	}
	last := segFile{err: fmt.Errorf("%w: %d bytes stored, manifest says %d", ErrChecksum, vs[0].Size, sg.Bytes)}
	tried := 0
	for _, v := range vs {
		if v.Size != sg.Bytes || tried == maxRecordVersions {
			continue
		}
		tried++
		if last = a.downloadVersion(ctx, key, v.ID, sg, dir); last.err == nil || ctx.Err() != nil {
			return last
		}
	}
	return last
}

func (a *Archive) downloadVersion(ctx context.Context, key, versionID string, sg manifest.Segment, dir string) segFile {
	obj, err := a.Client.GetObject(ctx, a.Bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return segFile{err: fmt.Errorf("download: %w", err)}
	}
	defer obj.Close()
	f, err := os.CreateTemp(dir, "seg-*")
	if err != nil {
		return segFile{err: fmt.Errorf("download: %w", err)}
	}
	h := sha256.New()
	nr, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(obj, sg.Bytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	fail := func(err error) segFile {
		os.Remove(f.Name())
		return segFile{bytes: nr, err: err}
	}
	if err != nil {
		if isNoSuchKey(err) {
			return fail(ErrMissing)
		}
		return fail(fmt.Errorf("download: %w", err))
	}
	if nr != sg.Bytes {
		return fail(fmt.Errorf("%w: %d bytes stored, manifest says %d", ErrChecksum, nr, sg.Bytes))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sg.SHA256 {
		return fail(ErrChecksum)
	}
	return segFile{path: f.Name(), bytes: nr}
}

// decryptInto decrypts a verified segment file straight into the WAV. The
// segment's start frame counts recorded frames only: if a partial segment
// before it lost its tail, silence fills that first (pad) so later audio
// stays at its time.
func (a *Archive) decryptInto(ww *wavWriter, path string, granted []byte, m *manifest.Manifest, sg manifest.Segment, ids []age.Identity, gapFrames int64) (pad int64, recovered bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var src io.Reader = f
	if granted != nil {
		if src, err = splicedReader(f, granted); err != nil {
			return 0, false, fmt.Errorf("splice the granted header: %w", err)
		}
	}
	hdr, pcmR, err := segment.Open(src, ids...)
	if err != nil && sg.Partial && sg.Samples == 0 && errors.Is(err, segment.ErrTruncated) {
		// Cut before its first chunk was full: recovery lists it, but it
		// holds no audio. Later segments' start frames keep the timing.
		return 0, true, nil
	}
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return 0, false, fmt.Errorf("decrypt: the identity is not one this segment was encrypted to: %w", err)
		}
		return 0, false, fmt.Errorf("decrypt: %w", err)
	}
	switch {
	case hdr.SessionID != m.SessionID:
		return 0, false, fmt.Errorf("header names session %q, not %q", hdr.SessionID, m.SessionID)
	case hdr.Index != sg.Index:
		return 0, false, fmt.Errorf("header says index %d, manifest %d", hdr.Index, sg.Index)
	case hdr.SampleRate != m.Format.SampleRate || hdr.Channels != m.Format.Channels:
		return 0, false, fmt.Errorf("header format %d Hz x %d differs from the manifest's", hdr.SampleRate, hdr.Channels)
	case hdr.StartFrame < 0:
		return 0, false, fmt.Errorf("header start frame %d is negative", hdr.StartFrame)
	}
	if want := hdr.StartFrame + gapFrames; ww.frames() < want {
		pad = want - ww.frames()
		if err := ww.silence(pad); err != nil {
			return 0, false, err
		}
	}
	fw := &frameWriter{w: ww, fb: hdr.FrameBytes()}
	_, err = io.CopyBuffer(fw, pcmR, make([]byte, segment.ChunkSize))
	if err != nil {
		var end *segment.EndError
		if !sg.Partial || !errors.As(err, &end) || end.Corrupt {
			if errors.Is(err, errTooLong) {
				return pad, false, err
			}
			return pad, false, fmt.Errorf("decrypt: %w", err)
		}
		// A partial segment: everything before the end is authenticated.
	}
	if !sg.Partial && fw.frames != sg.Samples {
		return pad, false, fmt.Errorf("holds %d frames, manifest says %d", fw.frames, sg.Samples)
	}
	return pad, sg.Partial, nil
}

// frameWriter passes whole frames to the WAV and drops a trailing part of
// one (a partial segment may end mid-frame).
type frameWriter struct {
	w      io.Writer // the WAV
	fb     int
	held   [4]byte
	nheld  int
	frames int64
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	if fw.nheld > 0 {
		k := copy(fw.held[fw.nheld:fw.fb], p)
		fw.nheld += k
		p = p[k:]
		if fw.nheld < fw.fb {
			return n, nil
		}
		if _, err := fw.w.Write(fw.held[:fw.fb]); err != nil {
			return 0, err
		}
		fw.frames++
		fw.nheld = 0
	}
	whole := len(p) / fw.fb * fw.fb
	if whole > 0 {
		if _, err := fw.w.Write(p[:whole]); err != nil {
			return 0, err
		}
		fw.frames += int64(whole / fw.fb)
	}
	fw.nheld = copy(fw.held[:], p[whole:])
	return n, nil
}
