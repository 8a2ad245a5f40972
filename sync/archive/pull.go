package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/kiosk/durable"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
)

// PullOptions says which session to pull and where to.
type PullOptions struct {
	SessionID  string
	Room       string // optional: narrows the search
	Identities []age.Identity
	Out        string // the WAV to write; written via a temporary file beside it
	Overwrite  bool   // replace Out if it exists
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

// ErrChecksum is wrapped when a segment's ciphertext differs from its
// manifest (tampered, damaged or replaced).
var ErrChecksum = errors.New("ciphertext does not match the manifest's sha256 (damaged or tampered)")

// ErrMissing is wrapped when a segment the manifest lists is not stored.
var ErrMissing = errors.New("missing from the archive")

type segResult struct {
	empty bool // a partial segment with no recoverable audio
	hdr   segment.Header
	pcm   []byte
	bytes int64
	err   error
}

// maxWindowBytes bounds the segments held in memory at once (ciphertext and
// PCM of those downloaded ahead of the writer).
const maxWindowBytes = 64 << 20

// Pull downloads a session's segments (several ahead, in parallel), checks
// each against the manifest's SHA-256, decrypts it, and writes one WAV in
// order: silence fills recorded gaps and the lost tails of partial segments,
// whose authenticated prefix is kept. Any failure leaves nothing at Out.
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
	if m == nil {
		// Listed from its summary or deletion record alone: no audio here.
		return res, fmt.Errorf("pull %s: no recording in the archive (session %s)", o.SessionID, s.State)
	}
	if m.Deleted {
		return res, fmt.Errorf("pull %s: its audio was deleted on the device at a participant's request; only the manifest was kept as a record", o.SessionID)
	}
	prefix := s.Key[:len(s.Key)-len(manifest.FileName)]

	tmp, err := durable.CreateTemp(o.Out, durable.Options{Perm: 0o600})
	if err != nil {
		return res, fmt.Errorf("pull %s: create temporary file: %w", o.SessionID, err)
	}
	defer tmp.Abort() // after a Commit, nothing
	ww, err := newWAVWriter(tmp.File, m.Format.SampleRate, m.Format.Channels)
	if err != nil {
		return res, fmt.Errorf("pull %s: write %s: %w", o.SessionID, tmp.Name(), err)
	}

	// Download ahead: segment i's result arrives on results[i]; at most
	// window segments are held at once.
	n := len(m.Segments)
	var total int64
	var largest int64
	for _, sg := range m.Segments {
		total += sg.Bytes
		largest = max(largest, sg.Bytes)
	}
	window := max(1, min(a.workers(), int(maxWindowBytes/max(2*largest, 1))))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan segResult, n)
	for i := range results {
		results[i] = make(chan segResult, 1)
	}
	slots := make(chan struct{}, window)
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				results[i] <- a.fetchSegment(ctx, m, prefix, m.Segments[i], o.Identities)
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
		var r segResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		<-slots
		if r.err != nil {
			return res, fmt.Errorf("pull %s: %w", o.SessionID, &SegmentError{Name: sg.Name, Key: prefix + sg.Name, Err: r.err})
		}
		// Recorded gaps before this segment.
		if g := gapsAfter[prevIndex]; g > 0 {
			if err := ww.silence(g); err != nil {
				return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
			}
			gapFrames += g
			res.SilenceFrames += g
		}
		// The segment's start frame counts recorded frames only: if a
		// partial segment before it lost its tail, fill that with silence so
		// later audio stays at its time.
		if want := r.hdr.StartFrame + gapFrames; !r.empty && ww.frames() < want {
			pad := want - ww.frames()
			if err := ww.silence(pad); err != nil {
				return res, fmt.Errorf("pull %s: %w", o.SessionID, err)
			}
			res.SilenceFrames += pad
		}
		if _, err := ww.Write(r.pcm); err != nil {
			return res, fmt.Errorf("pull %s: write %s: %w", o.SessionID, tmp.Name(), err)
		}
		if sg.Partial {
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

// fetchSegment downloads, verifies and decrypts one segment.
func (a *Archive) fetchSegment(ctx context.Context, m *manifest.Manifest, prefix string, sg manifest.Segment, ids []age.Identity) segResult {
	key := prefix + sg.Name
	obj, err := a.Client.GetObject(ctx, a.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return segResult{err: fmt.Errorf("download: %w", err)}
	}
	defer obj.Close()
	buf := bytes.NewBuffer(make([]byte, 0, sg.Bytes+1))
	h := sha256.New()
	nr, err := io.Copy(io.MultiWriter(buf, h), io.LimitReader(obj, sg.Bytes+1))
	if err != nil {
		if isNoSuchKey(err) {
			return segResult{err: ErrMissing}
		}
		return segResult{err: fmt.Errorf("download: %w", err)}
	}
	if nr != sg.Bytes {
		return segResult{bytes: nr, err: fmt.Errorf("%w: %d bytes stored, manifest says %d", ErrChecksum, nr, sg.Bytes)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sg.SHA256 {
		return segResult{bytes: nr, err: ErrChecksum}
	}
	hdr, pcmR, err := segment.Open(bytes.NewReader(buf.Bytes()), ids...)
	if err != nil && sg.Partial && sg.Samples == 0 && errors.Is(err, segment.ErrTruncated) {
		// Cut before its first chunk was full: recovery lists it, but it
		// holds no audio. Later segments' start frames keep the timing.
		return segResult{bytes: nr, empty: true}
	}
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return segResult{bytes: nr, err: fmt.Errorf("decrypt: the identity is not one this segment was encrypted to: %w", err)}
		}
		return segResult{bytes: nr, err: fmt.Errorf("decrypt: %w", err)}
	}
	switch {
	case hdr.SessionID != m.SessionID:
		return segResult{bytes: nr, err: fmt.Errorf("header names session %q, not %q", hdr.SessionID, m.SessionID)}
	case hdr.Index != sg.Index:
		return segResult{bytes: nr, err: fmt.Errorf("header says index %d, manifest %d", hdr.Index, sg.Index)}
	case hdr.SampleRate != m.Format.SampleRate || hdr.Channels != m.Format.Channels:
		return segResult{bytes: nr, err: fmt.Errorf("header format %d Hz x %d differs from the manifest's", hdr.SampleRate, hdr.Channels)}
	}
	pcm := make([]byte, 0, sg.Samples*int64(hdr.FrameBytes())+int64(segment.ChunkSize))
	pcm, err = readAll(pcmR, pcm)
	if err != nil {
		var end *segment.EndError
		if !sg.Partial || !errors.As(err, &end) || end.Corrupt {
			return segResult{bytes: nr, err: fmt.Errorf("decrypt: %w", err)}
		}
		// A partial segment: everything before the end is authenticated.
	}
	fb := hdr.FrameBytes()
	pcm = pcm[:len(pcm)/fb*fb]
	if !sg.Partial && int64(len(pcm)/fb) != sg.Samples {
		return segResult{bytes: nr, err: fmt.Errorf("holds %d frames, manifest says %d", len(pcm)/fb, sg.Samples)}
	}
	return segResult{hdr: hdr, pcm: pcm, bytes: nr}
}

// readAll is io.ReadAll into a caller-sized buffer.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
	}
}
