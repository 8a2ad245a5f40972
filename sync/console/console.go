// Package console is `roomctl console`: a local web server that shows the
// archive to admins who would rather look than read tables. The fleet as
// tiles, each room's checks and their history as plots (from the uploaded
// maintenance logs), sessions with their consent records, playback in the
// browser, deletions with a confirmation, and the audit trail.
//
// It reads the archive only through sync/archive and writes audit records
// only through sync/admin, exactly as the command line does: the console is
// another face of roomctl, not a second reader. Pages are rendered on the
// server (html/template), charts are inline SVG drawn here, and every asset
// is embedded: the browser fetches nothing from any network.
//
// Security: the identity stays in this process (it decrypts consent records
// and audio; no page or header carries it); every response that holds
// session data or audio is Cache-Control: no-store; every state-changing
// request (play, download, apply deletions) is a POST that must carry the
// console's CSRF token and pass the browser's cross-origin checks. Like a
// notebook server, the console answers only a browser that logged in with
// the one-time token of the URL roomctl prints at start, on loopback too
// (any local process could otherwise read pages, play audio or apply
// deletions with the admin's identity): the login sets a SameSite=Strict,
// HttpOnly cookie holding a session secret (not the token), and anything
// without it gets 401. On loopback the Host header must also name loopback
// (no DNS rebinding); off loopback roomctl insists on TLS.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a console.
type Options struct {
	Archive    *archive.Archive
	Auditor    admin.Auditor
	Identities []age.Identity
	// Token is the one-time login token, presented as ?token= (the URL
	// roomctl prints at start); "" makes a random one (LoginToken). The
	// first request that carries it gets the session cookie; it is refused
	// after that.
	Token string
	// Loopback: the console listens on loopback only, so a Host header
	// naming anything else is a DNS rebinding attempt and is refused.
	Loopback bool
	// Secure marks cookies Secure (the console is served over TLS).
	Secure bool
	// Now is the clock for staleness and plot ranges; nil is time.Now.
	Now func() time.Time
	// AudioDir is where pulls decrypt to before the file is opened and
	// unlinked; "" picks a private folder in memory-backed storage when
	// there is one ($XDG_RUNTIME_DIR, /dev/shm), else the temp folder.
	AudioDir string
	// Log receives one line per failed request (no personal data); nil
	// discards.
	Log io.Writer
}

// Server is the console's http.Handler.
type Server struct {
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	csrf  string
	cop   *http.CrossOriginProtection
	// secret is the cookie's value, made at the one login; "" before.
	secret   string
	secretMu sync.Mutex
	audioDir string
	plays    *playStore

	closeOnce sync.Once
	stop      chan struct{}
}

// New makes a console. Close it to remove its decrypted audio.
func New(o Options) (*Server, error) {
	if o.Archive == nil {
		return nil, errors.New("console: no archive")
	}
	if len(o.Identities) == 0 {
		return nil, errors.New("console: no identity to decrypt with")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Token == "" {
		o.Token = NewToken()
	}
	dir, err := privateDir(o.AudioDir)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("roomctl console csrf"))
	s := &Server{
		o:        o,
		mux:      http.NewServeMux(),
		csrf:     hex.EncodeToString(mac.Sum(nil)),
		cop:      http.NewCrossOriginProtection(),
		audioDir: dir,
		plays:    newPlayStore(),
		stop:     make(chan struct{}),
	}
	if s.pages, err = parsePages(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.routes()
	go s.janitor()
	return s, nil
}

// privateDir makes a folder only this user can enter, for decrypted audio.
func privateDir(base string) (string, error) {
	if base == "" {
		for _, c := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/dev/shm"} {
			if fi, err := os.Stat(c); c != "" && err == nil && fi.IsDir() {
				base = c
				break
			}
		}
	}
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "roomctl-console-")
	if err != nil {
		return "", fmt.Errorf("console: make audio folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("console: make audio folder: %w", err)
	}
	return dir, nil
}

// Close drops every open playback and removes the audio folder.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	s.plays.closeAll()
	return os.RemoveAll(s.audioDir)
}

func (s *Server) janitor() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.plays.expire(time.Now())
		}
	}
}

func (s *Server) routes() {
	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.fleet)
	s.mux.HandleFunc("GET /room/{room}", s.room)
	s.mux.HandleFunc("GET /sessions", s.sessions)
	s.mux.HandleFunc("GET /session/{room}/{id}", s.session)
	s.mux.HandleFunc("POST /session/{room}/{id}/play", s.play)
	s.mux.HandleFunc("POST /session/{room}/{id}/download", s.download)
	s.mux.HandleFunc("GET /audio/{ticket}", s.audio)
	s.mux.HandleFunc("GET /deletions", s.deletions)
	s.mux.HandleFunc("GET /deletions/confirm", s.deletionsConfirm)
	s.mux.HandleFunc("POST /deletions/apply", s.deletionsApply)
	s.mux.HandleFunc("GET /dispose", s.dispose)
	s.mux.HandleFunc("POST /dispose/run", s.disposeRun)
	s.mux.HandleFunc("GET /audit", s.audit)
	s.mux.HandleFunc("GET /lang/{lang}", s.setLang)
}

// cookie names.
const (
	tokenCookie = "roomctl_console"
	langCookie  = "roomctl_lang"
)

// ServeHTTP applies the console's guards, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// No script runs at all: the pages work with links, forms and a meta
	// refresh; media and images come from the console itself.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		// Pages carry session facts, consent records or audio.
		h.Set("Cache-Control", "no-store")
	}
	defer func() {
		// A second line behind bounded reading: a page that panics
		// answers 500 and the console keeps serving.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logf("%s %s: panic: %v", r.Method, r.URL.Path, v)
			http.Error(w, "console: internal error", http.StatusInternalServerError)
		}
	}()
	if s.o.Loopback && !loopbackHost(r.Host) {
		// A loopback console reached under another name is a DNS
		// rebinding attempt by some web page.
		http.Error(w, "console: this console answers only to a loopback address", http.StatusMisdirectedRequest)
		return
	}
	if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet {
		secret, ok := s.login(tok)
		if !ok {
			http.Error(w, "console: wrong or already used login token (restart roomctl console for a new URL)", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: secret, Path: "/", HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return
	}
	if c, err := r.Cookie(tokenCookie); err != nil || !s.loggedIn(c.Value) {
		http.Error(w, "console: open the URL roomctl printed at start (it carries a one-time login token)", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := s.cop.Check(r); err != nil {
			http.Error(w, "console: cross-origin request refused", http.StatusForbidden)
			return
		}
		if !equal(r.PostFormValue("csrf"), s.csrf) {
			http.Error(w, "console: missing or wrong form token (reload the page)", http.StatusForbidden)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// LoginToken is the one-time token of the console's login URL.
func (s *Server) LoginToken() string { return s.o.Token }

// login spends the one-time token: the first right one gets the session
// secret, and every later attempt is refused.
func (s *Server) login(tok string) (string, bool) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != "" || !equal(tok, s.o.Token) {
		return "", false
	}
	s.secret = NewToken()
	return s.secret, true
}

func (s *Server) loggedIn(secret string) bool {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	return s.secret != "" && equal(secret, s.secret)
}

// safeBack returns back if it is a path on this console, else "/": no
// scheme, no host, no "//" or "/\" (browsers read a backslash as a slash,
// so /\evil.example/ leaves the site), no control characters.
func safeBack(back string) string {
	if len(back) < 1 || len(back) > 2048 || back[0] != '/' || strings.ContainsAny(back, "\\\x00\r\n\t") {
		return "/"
	}
	if len(back) > 1 && (back[1] == '/' || back[1] == '\\') {
		return "/"
	}
	u, err := url.Parse(back)
	if err != nil || u.IsAbs() || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// Nor once unescaped: a page of this console never needs them.
	dec, err := url.PathUnescape(u.EscapedPath())
	if err != nil || strings.ContainsAny(dec, "\\") || strings.HasPrefix(dec, "//") {
		return "/"
	}
	if q, err := url.QueryUnescape(u.RawQuery); err != nil || strings.ContainsAny(q, "\x00\r\n") {
		return "/"
	}
	for _, c := range dec {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	return back
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// IsLoopback reports whether a listen address binds loopback only.
func IsLoopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// NewToken returns a random token (256 bits, base32).
func NewToken() string { return rand.Text() + rand.Text() }

// setLang remembers the language and goes back where the switch was used.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if _, ok := catalogs[lang]; !ok {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 86400, HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeBack(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// lang picks the page language: the switch's cookie, else the browser's
// preference, else English.
func lang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if _, ok := catalogs[c.Value]; ok {
			return c.Value
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "zh") {
			return "zh"
		}
		if strings.HasPrefix(tag, "en") {
			return "en"
		}
	}
	return "en"
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.o.Log, "console: "+format+"\n", args...)
}

// ctx bounds one page's archive work.
func pageCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 2*time.Minute)
}
