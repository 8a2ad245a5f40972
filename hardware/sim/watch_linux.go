package sim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// watch follows the state file through inotify on its folder (writers
// replace it by rename, which a watch on the file itself would lose), so
// an idle board makes no wake-ups at all: the old 250 ms poll was most of
// the daemon's wake-ups at rest (issue 16). It returns false at once when
// inotify is not available, and the caller polls instead; otherwise it
// returns when the sim is closed.
func (s *Sim) watch() bool {
	dir, name := filepath.Split(s.cfg.StateFile)
	if dir == "" {
		dir = "."
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		s.log.Debug().Err(err).Msg("inotify unavailable: polling the sim state file")
		return false
	}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		s.log.Debug().Err(err).Str("dir", dir).Msg("cannot watch the sim state folder: polling the file")
		return false
	}
	// A non-blocking descriptor in an *os.File is parked in Go's network
	// poller: no thread waits on it, and Close wakes the reader.
	f := os.NewFile(uintptr(fd), "inotify")
	go func() { <-s.stop; f.Close() }()
	// The file may have changed between New's first read and the watch.
	s.poll()
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				select {
				case <-s.stop:
				default:
					s.log.Warn().Err(err).Msg("sim state watch ended: polling the file")
					return false
				}
			}
			return true
		}
		relevant := false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
			nameLen := int(ev.Len)
			evName := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen], "\x00"))
			if evName == name || ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_Q_OVERFLOW) != 0 {
				relevant = true
			}
			off += unix.SizeofInotifyEvent + nameLen
		}
		if relevant {
			// The stamp (mtime, size) can miss a rewrite of the same size
			// within the clock's granularity; the event cannot.
			s.mu.Lock()
			s.stamp.mod = s.stamp.mod.Add(-1)
			s.mu.Unlock()
			s.poll()
		}
	}
}
