package console

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

// A play is one audited pull kept open for the browser's audio element,
// which asks for the WAV in ranges (seeking, buffering). The decrypted file
// is unlinked as soon as it is opened: it has no name while it is played,
// and it is gone when the play is closed (after playIdle without a
// request, or when the console stops).
type play struct {
	f             *os.File
	size          int64
	room, session string
	last          time.Time
}

const (
	playIdle = 15 * time.Minute
	maxPlays = 4 // open at once; the oldest is closed first
)

type playStore struct {
	mu    sync.Mutex
	plays map[string]*play
}

func newPlayStore() *playStore { return &playStore{plays: map[string]*play{}} }

func (ps *playStore) add(p *play) string {
	ticket := rand.Text()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for len(ps.plays) >= maxPlays {
		var oldest string
		for k, q := range ps.plays {
			if oldest == "" || q.last.Before(ps.plays[oldest].last) {
				oldest = k
			}
		}
		ps.plays[oldest].f.Close()
		delete(ps.plays, oldest)
	}
	ps.plays[ticket] = p
	return ticket
}

// get returns a section reader over the play's WAV (each request its own,
// so ranges asked for at once do not share an offset).
func (ps *playStore) get(ticket string) (*io.SectionReader, *play, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.plays[ticket]
	if !ok {
		return nil, nil, false
	}
	p.last = time.Now()
	return io.NewSectionReader(p.f, 0, p.size), p, true
}

func (ps *playStore) valid(ticket, room, session string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.plays[ticket]
	return ok && p.room == room && p.session == session
}

func (ps *playStore) expire(now time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for k, p := range ps.plays {
		if now.Sub(p.last) > playIdle {
			p.f.Close()
			delete(ps.plays, k)
		}
	}
}

func (ps *playStore) closeAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for k, p := range ps.plays {
		p.f.Close()
		delete(ps.plays, k)
	}
}

// pull runs the archive's own pull (verify, decrypt, one WAV) into the
// private folder, auditing it as roomctl pull does (durably, before the
// audio is handed over; failures too), and returns the open, unlinked file.
//
// A tampered session is refused unless original is set: then its first
// versions are pulled (roomctl pull --original), and the audit says so.
func (s *Server) pull(r *http.Request, row archive.Session, how string, original bool) (*os.File, int64, error) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	out := filepath.Join(s.audioDir, rand.Text()+".wav")
	au := s.o.Auditor
	_, err := s.o.Archive.Pull(ctx, archive.PullOptions{
		SessionID: row.Session, Room: row.Room, Identities: s.o.Identities, Out: out, Original: original,
		BeforeCommit: func(res archive.PullResult) error {
			detail := fmt.Sprintf("console %s: %d segments, %d frames, %d recovered partial", how, res.Session.Segments, res.Frames,
				len(res.Recovered))
			if res.Original {
				detail += "; TAMPERED session pulled from its genuine records (--original): " + strings.Join(res.Session.TamperedKeys, ", ")
			}
			_, err := au.Write(ctx, admin.AuditRecord{Action: "pull", Room: res.Session.Room, Session: res.Session.Session,
				Objects: []string{res.Session.Key}, Detail: detail})
			return err
		},
	})
	if err != nil {
		os.Remove(out)
		if _, aerr := au.Write(ctx, admin.AuditRecord{Action: "pull", Room: row.Room, Session: row.Session,
			Detail: "console " + how, Result: err.Error()}); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, 0, err
	}
	f, err := os.Open(out)
	os.Remove(out) // nameless from here on
	if err != nil {
		return nil, 0, fmt.Errorf("open pulled audio: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open pulled audio: %w", err)
	}
	return f, fi.Size(), nil
}

// pullFor finds the request's session and pulls it (audited as what), or
// answers the request itself and returns ok false: the one way play and
// download reach the audio.
func (s *Server) pullFor(w http.ResponseWriter, r *http.Request, what string) (row archive.Session, f *os.File, size int64, ok bool) {
	row, err := s.findSession(r)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return row, nil, 0, false
	}
	if !rowOf(row).Playable() {
		s.renderSession(w, r, row, "", tr(lang(r), "play.none"), http.StatusConflict)
		return row, nil, 0, false
	}
	f, size, err = s.pull(r, row, what, r.PostFormValue("original") == "yes")
	if err != nil {
		s.logf("%s %s/%s: %v", what, row.Room, row.Session, err)
		s.renderSession(w, r, row, "", err.Error(), http.StatusBadGateway)
		return row, nil, 0, false
	}
	return row, f, size, true
}

// play pulls the session (audited) and shows its page with an audio
// element on the new play.
func (s *Server) play(w http.ResponseWriter, r *http.Request) {
	row, f, size, ok := s.pullFor(w, r, "play")
	if !ok {
		return
	}
	ticket := s.plays.add(&play{f: f, size: size, room: row.Room, session: row.Session, last: time.Now()})
	http.Redirect(w, r, "/session/"+row.Room+"/"+row.Session+"?play="+ticket+"#player", http.StatusSeeOther)
}

// download pulls the session (audited) and sends the WAV as a file.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	row, f, _, ok := s.pullFor(w, r, "download")
	if !ok {
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+row.Room+"-"+row.Session+`.wav"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// audio serves a play's WAV with Range support.
func (s *Server) audio(w http.ResponseWriter, r *http.Request) {
	sr, p, ok := s.plays.get(r.PathValue("ticket"))
	if !ok {
		http.Error(w, "console: this play has ended; press Play again", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `inline; filename="`+p.room+"-"+p.session+`.wav"`)
	http.ServeContent(w, r, "", time.Time{}, sr)
}
