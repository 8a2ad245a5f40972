package checks

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"roomkiosk/internal/room"
	"slices"
	"sync"
	"time"
)

// Kind says what a maintenance log entry records.
type Kind string

const (
	KindRun         Kind = "run"         // one round of checks; Results holds them all
	KindFault       Kind = "fault"       // a check went from good (or never seen) to abnormal or unknown
	KindRecovery    Kind = "recovery"    // a check came back to good
	KindChange      Kind = "change"      // a check moved between abnormal and unknown
	KindOverride    Kind = "override"    // the counselor started despite a failing required check
	KindNote        Kind = "note"        // anything else the daemon wants on record (a device fault, a restart)
	KindMaintenance Kind = "maintenance" // a technician's entry (maintenance.go)
	KindProblem     Kind = "problem"     // a counselor's problem report (maintenance.go)
)

// Entry is one line of the maintenance log. It never holds client
// information: session ids and pseudonymous counselor ids only.
type Entry struct {
	At        time.Time          `json:"at"`
	Kind      Kind               `json:"kind"`
	Reason    string             `json:"reason,omitempty"` // why a round ran: boot, interval, session, demand, ...
	Check     string             `json:"check,omitempty"`
	State     room.CheckState    `json:"state,omitempty"`
	From      room.CheckState    `json:"from,omitempty"` // previous state, for fault/recovery/change
	Value     string             `json:"value,omitempty"`
	Threshold string             `json:"threshold,omitempty"`
	Hint      string             `json:"hint,omitempty"`
	Required  bool               `json:"required,omitempty"`
	Results   []room.CheckResult `json:"results,omitempty"`
	Session   string             `json:"session,omitempty"`
	Counselor string             `json:"counselor,omitempty"` // pseudonymous id
	Note      string             `json:"note,omitempty"`      // override reason, fault detail

	// Maintenance and problem reports (maintenance.go): codes from fixed
	// lists and pseudonymous ids, never free text.
	Action     string   `json:"action,omitempty"`     // KindMaintenance: room.MaintenanceActions
	Technician string   `json:"technician,omitempty"` // KindMaintenance: pseudonymous id
	Cleared    []string `json:"cleared,omitempty"`    // KindMaintenance: the problem codes it cleared
	Problem    string   `json:"problem,omitempty"`    // KindProblem: room.ProblemCodes
}

// Log is the maintenance log: JSON lines, one file a day named
// <dir>/YYYY-MM-DD.jsonl (UTC date of the entry), each line fsync'ed before
// Record returns, so a power cut loses at most the line being written. The
// uploader sends the files as they are. Safe for concurrent use.
type Log struct {
	dir      string
	keepDays int

	mu  sync.Mutex
	day string
	f   *os.File
}

// LogOption changes how OpenLog opens the log.
type LogOption func(*Log)

// KeepDays makes the log delete day files older than n days whenever it
// starts a new day file (checks.log_keep_days); 0 keeps them all.
func KeepDays(n int) LogOption { return func(l *Log) { l.keepDays = n } }

// OpenLog creates dir if needed and returns a log appending to it.
func OpenLog(dir string, opts ...LogOption) (*Log, error) {
	if dir == "" {
		return nil, errors.New("open maintenance log: no folder (checks.log_dir)")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open maintenance log: %w", err)
	}
	l := &Log{dir: dir}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Dir returns the log's folder.
func (l *Log) Dir() string { return l.dir }

// Record appends e (At defaults to now) and syncs it to disk.
func (l *Log) Record(e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	if e.Kind == "" {
		return errors.New("maintenance log: entry without a kind")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("maintenance log: encode %s entry: %w", e.Kind, err)
	}
	b = append(b, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	day := e.At.Format(time.DateOnly)
	if l.f == nil || day != l.day {
		if err := l.openDay(day); err != nil {
			return err
		}
	}
	// One write of the whole line on an O_APPEND file: a reader never sees
	// two lines interleaved.
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("maintenance log: write %s: %w", l.f.Name(), err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("maintenance log: sync %s: %w", l.f.Name(), err)
	}
	return nil
}

func (l *Log) openDay(day string) error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	path := filepath.Join(l.dir, day+".jsonl")
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("maintenance log: open %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A new file is durable only once its directory entry is.
		if d, err := os.Open(l.dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	l.f, l.day = f, day
	if l.keepDays > 0 {
		l.prune(day)
	}
	return nil
}

// prune removes day files more than keepDays before today. The names are
// dates, so no file needs opening.
func (l *Log) prune(today string) {
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return
	}
	oldest := t.AddDate(0, 0, -l.keepDays).Format(time.DateOnly) + ".jsonl"
	files, _ := LogFiles(l.dir)
	for _, f := range files {
		if filepath.Base(f) < oldest {
			os.Remove(f)
		}
	}
}

// Close closes the current day file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

var dayFile = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.jsonl$`)

// Files returns the log's day files, oldest first.
func (l *Log) Files() ([]string, error) { return LogFiles(l.dir) }

// LogFiles returns the day files in dir, oldest first.
func LogFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list maintenance log: %w", err)
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() && dayFile.MatchString(de.Name()) {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	slices.Sort(out) // the names sort by date
	return out, nil
}

// LastFaults returns up to n fault entries, newest first.
func (l *Log) LastFaults(n int) ([]Entry, error) { return Recent(l.dir, n, KindFault) }

// Recent returns up to n entries of the given kinds (any kind when none is
// given) from the log in dir, newest first. A torn last line (a power cut
// while writing) or any other malformed line is skipped.
func Recent(dir string, n int, kinds ...Kind) ([]Entry, error) {
	files, err := LogFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := len(files) - 1; i >= 0 && len(out) < n; i-- {
		entries, err := readDay(files[i], kinds)
		if err != nil {
			return out, err
		}
		for j := len(entries) - 1; j >= 0 && len(out) < n; j-- {
			out = append(out, entries[j])
		}
	}
	return out, nil
}

func readDay(path string, kinds []Kind) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read maintenance log: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read maintenance log %s: %w", path, err)
	}
	return out, nil
}
