// Package spool is the device's on-disk queue: the one owner of the spool
// folder's layout, which the recorder writes and the uploader drains, plus
// crash recovery. Pure Go.
//
//	<spool>/sessions/<id>/seg-000001.wav.age.part   being written
//	<spool>/sessions/<id>/seg-000001.wav.age        sealed
//	<spool>/sessions/<id>/journal.json              recorder's working state
//	<spool>/sessions/<id>/manifest.json             written last: complete, uploadable
//	<spool>/sessions/<id>/manifest.held.json        withdrawn: complete, held
//	                                                 until keep (QueueHeld renames
//	                                                 it to manifest.json) or delete
//	<spool>/deletions/<id>.json                     deletion request (recorder)
//	<spool>/summaries/<id>.json                     session summary (uploader, at session end)
//	<spool>/quarantine/...                          sessions and requests that cannot be
//	                                                 uploaded as they are, kept for an admin
//	<spool>/uploaded/<id>/                          sessions kept after upload
//	                                                 (storage.keep_uploaded), with .uploaded-at
//	<spool>/upload-state/                           the uploader's bookkeeping
package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"roomkiosk/internal/durable"
	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
)

const (
	// PartSuffix marks a segment still being written.
	PartSuffix = ".part"
	// JournalName is the recorder's working copy of the manifest.
	JournalName = "journal.json"
	// HeldName is the manifest of a withdrawn session whose participants
	// have not chosen yet between keeping and deleting its audio. The
	// uploader only looks for manifest.json, so a held session never
	// leaves the device; QueueHeld renames it to manifest.json (keep), a
	// discard removes the folder (delete).
	HeldName = "manifest.held.json"
	// UploadedMarker is the file in uploaded/<id>/ whose mtime is the time
	// of the upload.
	UploadedMarker = ".uploaded-at"
)

// Folder names under the spool root.
const (
	sessionsDir   = "sessions"
	deletionsDir  = "deletions"
	summariesDir  = "summaries"
	quarantineDir = "quarantine"
	uploadedDir   = "uploaded"
	stateDir      = "upload-state"
)

// ErrNotHeld says a session has no held manifest to queue.
var ErrNotHeld = errors.New("no withdrawn session awaiting a choice")

// Spool is a spool folder.
type Spool struct {
	Root string
	// NoSync skips every fsync (benchmarks of the CPU path only; a spool
	// without fsync does not survive a power cut).
	NoSync bool
}

func (s Spool) syncDir(dir string) error {
	if s.NoSync {
		return nil
	}
	return durable.SyncDir(dir)
}

// SyncDir fsyncs dir unless the spool is NoSync.
func (s Spool) SyncDir(dir string) error { return s.syncDir(dir) }

// SessionsDir holds one folder per session.
func (s Spool) SessionsDir() string { return filepath.Join(s.Root, sessionsDir) }

// DeletionsDir holds deletion requests.
func (s Spool) DeletionsDir() string { return filepath.Join(s.Root, deletionsDir) }

// SummariesDir holds the session summaries waiting for upload.
func (s Spool) SummariesDir() string { return filepath.Join(s.Root, summariesDir) }

// SummaryPath is where a session's summary waits for upload.
func (s Spool) SummaryPath(id string) string { return filepath.Join(s.SummariesDir(), id+".json") }

// QuarantineDir holds what the uploader set aside for an admin: session
// folders, and deletions/ and summaries/ sub-folders of requests.
func (s Spool) QuarantineDir() string { return filepath.Join(s.Root, quarantineDir) }

// UploadedDir holds sessions kept after their upload.
func (s Spool) UploadedDir() string { return filepath.Join(s.Root, uploadedDir) }

// StateDir holds the uploader's bookkeeping files.
func (s Spool) StateDir() string { return filepath.Join(s.Root, stateDir) }

// QuarantinedDeletionsName and QuarantinedSummariesName are the
// sub-folders of QuarantineDir for set-aside requests and summaries.
const (
	QuarantinedDeletionsName = deletionsDir
	QuarantinedSummariesName = summariesDir
)

// SessionDir is the folder of one session.
func (s Spool) SessionDir(id string) string { return filepath.Join(s.SessionsDir(), id) }

// ManifestPath is where a session's manifest goes.
func (s Spool) ManifestPath(id string) string {
	return filepath.Join(s.SessionDir(id), manifest.FileName)
}

// HeldPath is where a withdrawn session's manifest waits for the choice.
func (s Spool) HeldPath(id string) string {
	return filepath.Join(s.SessionDir(id), HeldName)
}

// PartPath is where a session's segment is written until it is sealed.
func (s Spool) PartPath(id, name string) string {
	return filepath.Join(s.SessionDir(id), name+PartSuffix)
}

// Seal renames a session's segment from its part name (PartPath) to its
// sealed name. It does not fsync the folder: the caller does, once after
// its renames.
func (s Spool) Seal(id, name string) error {
	return os.Rename(s.PartPath(id, name), filepath.Join(s.SessionDir(id), name))
}

// IsHeld reports whether a session's manifest is held (HeldPath exists).
func (s Spool) IsHeld(id string) bool {
	_, err := os.Stat(s.HeldPath(id))
	return err == nil
}

// DeletionPath is where a session's deletion request goes.
func (s Spool) DeletionPath(id string) string {
	return filepath.Join(s.DeletionsDir(), id+".json")
}

// Init creates the spool folders.
func (s Spool) Init() error {
	for _, d := range []string{s.SessionsDir(), s.DeletionsDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create spool folder: %w", err)
		}
	}
	return s.syncDir(s.Root)
}

func (s Spool) writeFileAtomic(path string, data []byte) error {
	return durable.WriteFile(path, data, durable.Options{NoSync: s.NoSync})
}

// WriteJournal saves the session's working manifest.
func (s Spool) WriteJournal(m *manifest.Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	return s.writeFileAtomic(filepath.Join(s.SessionDir(m.SessionID), JournalName), b)
}

// WriteManifest writes the manifest (last, atomically) and removes the
// journal, which it supersedes.
func (s Spool) WriteManifest(m *manifest.Manifest) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := s.writeFileAtomic(s.ManifestPath(m.SessionID), b); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.SessionDir(m.SessionID), JournalName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}

// WriteHeldManifest writes a withdrawn session's manifest under HeldName
// (atomically, like WriteManifest) and removes the journal. The session is
// complete but stays on the device until QueueHeld.
func (s Spool) WriteHeldManifest(m *manifest.Manifest) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := s.writeFileAtomic(s.HeldPath(m.SessionID), b); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.SessionDir(m.SessionID), JournalName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}

// NoteHeldDecision writes who decided to keep a held session, and when,
// into its held manifest (atomically; QueueHeld follows). A session no
// longer held (already queued) keeps its manifest as it is.
func (s Spool) NoteHeldDecision(id string, d room.HeldDecision) error {
	b, err := readBounded(s.HeldPath(id), 16<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("note held decision %s: %w", id, err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return fmt.Errorf("note held decision %s: %w", id, err)
	}
	m.HeldDecision = &d
	return s.WriteHeldManifest(m)
}

// QueueHeld hands a held session to the uploader (its participants chose
// to keep it): its held manifest becomes manifest.json (rename, folder
// fsync). A session already queued is not an error; one with neither file
// is ErrNotHeld.
func (s Spool) QueueHeld(id string) error {
	if !manifest.ValidSessionID(id) {
		return fmt.Errorf("queue held session: %q is not a session id", id)
	}
	err := os.Rename(s.HeldPath(id), s.ManifestPath(id))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(s.ManifestPath(id)); serr == nil {
			return nil
		}
		return fmt.Errorf("queue held session %s: %w", id, ErrNotHeld)
	}
	if err != nil {
		return fmt.Errorf("queue held session %s: %w", id, err)
	}
	return s.syncDir(s.SessionDir(id))
}

// Held lists the sessions whose held manifest awaits a keep-or-delete
// choice (withdrawn sessions, also those a restart or power cut left), with
// how many of each one's participants were children (the held manifest's
// count). A held manifest that cannot be read is listed all the same, with
// no children: it is still held, and its choice is still asked.
func (s Spool) Held() ([]room.HeldRecording, error) {
	ents, err := os.ReadDir(s.SessionsDir())
	if err != nil {
		return nil, fmt.Errorf("list held sessions: %w", err)
	}
	var out []room.HeldRecording
	for _, e := range ents {
		if !e.IsDir() || !manifest.ValidSessionID(e.Name()) {
			continue
		}
		if _, err := os.Stat(s.HeldPath(e.Name())); err == nil {
			out = append(out, room.HeldRecording{SessionID: e.Name(), Children: s.heldChildren(e.Name())})
		}
	}
	return out, nil
}

// heldChildren is the children count of a held manifest, 0 when it cannot
// be read or is not this session's.
func (s Spool) heldChildren(id string) int {
	b, err := readBounded(s.HeldPath(id), 16<<20)
	if err != nil {
		return 0
	}
	m, err := manifest.Parse(b)
	if err != nil || m.SessionID != id {
		return 0
	}
	return m.Children
}

// WriteDeletion records a deletion request for a session.
func (s Spool) WriteDeletion(d manifest.Deletion) error {
	if d.Version == 0 {
		d.Version = manifest.DeletionVersion
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode deletion request: %w", err)
	}
	if err := os.MkdirAll(s.DeletionsDir(), 0o700); err != nil {
		return fmt.Errorf("write deletion request: %w", err)
	}
	return s.writeFileAtomic(s.DeletionPath(d.SessionID), append(b, '\n'))
}

// RemoveSession deletes a session's local files (ciphertext: removal is
// enough) and its folder.
func (s Spool) RemoveSession(id string) error {
	if !manifest.ValidSessionID(id) {
		return fmt.Errorf("remove session: %q is not a session id", id)
	}
	if err := os.RemoveAll(s.SessionDir(id)); err != nil {
		return fmt.Errorf("remove session %s: %w", id, err)
	}
	return s.syncDir(s.SessionsDir())
}

// HashFile returns the size and hex SHA-256 of a file.
func HashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// RecoverOptions fill what a session folder cannot tell by itself.
type RecoverOptions struct {
	RoomID, DeviceID string
	Format           manifest.Format // used when the journal is missing
	RetentionClass   string          // likewise: the device's [retention] class
	// Open names sessions Recover leaves unfinished: the session core
	// resumes their recording (Reopen) after a restart.
	Open []string
}

// Recovered describes one session recovery sealed.
type Recovered struct {
	SessionID string
	Partial   []string // segment names sealed as partial
	// Held: the session was withdrawn before the cut, so its manifest was
	// written under HeldName: it awaits a keep-or-delete choice.
	Held bool
}

// Recover finishes every session that has no manifest: each *.part is
// renamed to its sealed name unchanged and listed as partial, and a manifest
// marked interrupted is written so the session uploads like any other.
// Nothing is deleted, except the remains of a session whose deletion request
// exists (a Discard that was cut short). A withdrawn session (held manifest,
// or a journal marked withdrawn) is never queued for upload here: it stays held
// until someone chooses (QueueHeld or a discard). Call it before recording
// starts.
func (s Spool) Recover(o RecoverOptions) ([]Recovered, error) {
	if err := s.Init(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.SessionsDir())
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	var out []Recovered
	var errs []error
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || !manifest.ValidSessionID(id) {
			continue
		}
		if _, err := os.Stat(s.DeletionPath(id)); err == nil {
			if err := s.RemoveSession(id); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if _, err := os.Stat(s.ManifestPath(id)); err == nil {
			continue
		}
		if _, err := os.Stat(s.HeldPath(id)); err == nil {
			continue
		}
		if slices.Contains(o.Open, id) {
			continue
		}
		rec, err := s.recoverSession(id, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover session %s: %w", id, err))
			continue
		}
		out = append(out, rec)
	}
	return out, errors.Join(errs...)
}

func (s Spool) recoverSession(id string, o RecoverOptions) (Recovered, error) {
	dir := s.SessionDir(id)
	rec := Recovered{SessionID: id}
	m := &manifest.Manifest{}
	jb, err := os.ReadFile(filepath.Join(dir, JournalName))
	if err == nil {
		err = json.Unmarshal(jb, m)
	}
	if err != nil || m.SessionID != id {
		// No usable journal (cut while writing it): rebuild what the
		// folder and the configuration tell.
		started, _ := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0])
		m = &manifest.Manifest{Version: manifest.Version, SessionID: id, RoomID: o.RoomID, DeviceID: o.DeviceID,
			Format: o.Format, Started: started, RetentionClass: o.RetentionClass}
	}
	known := map[string]bool{}
	for _, sg := range m.Segments {
		known[sg.Name] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return rec, err
	}
	last := m.Started
	renamed := false
	for _, e := range ents {
		name := e.Name()
		partial := strings.HasSuffix(name, PartSuffix)
		sealed := strings.TrimSuffix(name, PartSuffix)
		idx, ok := manifest.ParseSegmentName(sealed)
		if !ok || known[sealed] {
			if ok {
				if fi, err := e.Info(); err == nil && fi.ModTime().After(last) {
					last = fi.ModTime()
				}
			}
			continue
		}
		if partial {
			if err := s.Seal(id, sealed); err != nil {
				return rec, fmt.Errorf("seal %s: %w", name, err)
			}
			renamed = true
			rec.Partial = append(rec.Partial, sealed)
		}
		sg, mod, err := describe(filepath.Join(dir, sealed), idx, !partial, m.Format)
		if err != nil {
			return rec, err
		}
		if sg.Bytes == 0 {
			continue // created, nothing written: kept on disk, nothing to list
		}
		if mod.After(last) {
			last = mod
		}
		m.Segments = append(m.Segments, sg)
	}
	if renamed {
		if err := s.syncDir(dir); err != nil {
			return rec, err
		}
	}
	sort.Slice(m.Segments, func(i, j int) bool { return m.Segments[i].Index < m.Segments[j].Index })
	m.Interrupted = true
	m.StopReason = "recovered"
	if last.Before(m.Started) {
		last = m.Started
	}
	m.Ended = last.UTC()
	if m.DurationNS == 0 {
		// No monotonic figure survives a crash: use the wall clock span.
		m.DurationNS = int64(m.Ended.Sub(m.Started))
	}
	if m.Gaps == nil {
		m.Gaps = []manifest.Gap{}
	}
	if m.Withdrawn {
		// Withdrawn before the cut, and nobody chose: hold it.
		rec.Held = true
		return rec, s.WriteHeldManifest(m)
	}
	if err := s.WriteManifest(m); err != nil {
		return rec, err
	}
	return rec, nil
}

// describe computes a segment's manifest entry from its file.
func describe(path string, idx int, complete bool, f manifest.Format) (manifest.Segment, time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return manifest.Segment{}, time.Time{}, err
	}
	n, sum, err := HashFile(path)
	if err != nil {
		return manifest.Segment{}, time.Time{}, fmt.Errorf("hash %s: %w", filepath.Base(path), err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return manifest.Segment{}, time.Time{}, err
	}
	defer fh.Close()
	pcm, err := segment.PCMSize(fh, n, complete)
	if err != nil {
		// A file cut inside its age header holds no audio; keep it listed.
		pcm = 0
	}
	frameBytes := int64(max(f.Channels, 1) * 2)
	return manifest.Segment{Name: filepath.Base(path), Index: idx, Samples: pcm / frameBytes, Bytes: n, SHA256: sum, Partial: !complete},
		fi.ModTime(), nil
}
