package console

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
)

// page is what every template gets: the language, the CSRF token for its
// forms, and the helpers that format for the reader.
type page struct {
	Lang    string
	Path    string // this page's path and query, for the language switch
	CSRF    string
	Nav     string // the menu entry to highlight
	Title   string
	Refresh int // seconds; 0: no automatic refresh
	Now     time.Time
	Error   string
}

// T translates key; args are name, value pairs for {name} placeholders.
func (p *page) T(key string, args ...any) string { return tr(p.Lang, key, args...) }

// Role says a consent decision's role code in words: "adult", "guardian
// of child 1", "child 1 (assent)"; no role is a version 1 record's adult.
// Any other code came from a device's record and is shown as it is (the
// template escapes it), marked unknown and cut to maxRoleShown bytes:
// never read as a role.
func (p *page) Role(code string) string {
	if code == "" {
		return p.T("consent.role.adult")
	}
	kind, child, ok := room.ParseRole(code)
	if !ok {
		if len(code) > maxRoleShown {
			code = strings.ToValidUTF8(code[:maxRoleShown], "") + "…"
		}
		return p.T("consent.role.unknown", "code", code)
	}
	return p.T("consent.role."+kind, "n", child)
}

// maxRoleShown bounds an unknown role code on the page.
const maxRoleShown = 64

// Time prints an instant in UTC, as every archive time is kept.
func (p *page) Time(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// Ago prints how long ago t was, coarsely.
func (p *page) Ago(t time.Time) string {
	if t.IsZero() {
		return p.T("never")
	}
	d := p.Now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return p.T("ago.s", "n", int(d.Seconds()))
	case d < time.Hour:
		return p.T("ago.m", "n", int(d.Minutes()))
	case d < 48*time.Hour:
		return p.T("ago.h", "n", int(d.Hours()))
	}
	return p.T("ago.d", "n", int(d.Hours()/24))
}

// ClockAhead says how far a device's clock is off, in words that carry
// the sign ("Device clock ahead by 0.5 s"): the clock check's value
// uses the same sign (device minus server).
func (p *page) ClockAhead(d time.Duration) string {
	s := strconv.FormatFloat(math.Abs(d.Seconds()), 'f', 1, 64)
	// Within the measurement's resolution (the server's Date header has
	// whole seconds) an offset is no offset: the clock check says so too.
	switch {
	case d > layout.ClockResolution:
		return p.T("clock.ahead", "s", s)
	case d < -layout.ClockResolution:
		return p.T("clock.behind", "s", s)
	}
	return p.T("clock.instep")
}

// Dur prints a duration rounded to the second.
func (p *page) Dur(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return d.Round(time.Second).String()
}

// Bytes prints a size.
func (p *page) Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// State translates a session state ("deletion requested" -> state.deletion_requested).
func (p *page) State(s string) string {
	k := "state." + strings.ReplaceAll(s, " ", "_")
	if hasKey(k) {
		return p.T(k)
	}
	return s
}

// CheckName translates a check's name where the catalog knows it.
func (p *page) CheckName(n string) string {
	if hasKey("check." + n) {
		return p.T("check." + n)
	}
	return n
}

// Langs lists the language switch's links.
func (p *page) Langs() []langLink {
	var out []langLink
	for _, l := range languages {
		out = append(out, langLink{Code: l, Name: tr(l, "lang.name"), Here: l == p.Lang,
			Href: "/lang/" + l + "?back=" + url.QueryEscape(p.Path)})
	}
	return out
}

// Day formats a date (UTC).
func (p *page) Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Table is the argument of the shared sessions table template.
func (p *page) Table(rows []sessionRow) sessionTable { return sessionTable{page: p, Rows: rows} }

type sessionTable struct {
	*page
	Rows []sessionRow
}

type langLink struct {
	Code, Name, Href string
	Here             bool
}

func (s *Server) newPage(r *http.Request, nav, titleKey string) *page {
	p := &page{Lang: lang(r), Path: r.URL.RequestURI(), CSRF: s.csrf, Nav: nav, Now: s.o.Now()}
	p.Title = p.T(titleKey)
	return p
}

var pageNames = []string{"fleet", "room", "sessions", "session", "deletions", "confirm", "applied", "audit", "error", "dispose"}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(template.FuncMap{
			"join":      strings.Join,
			"hasPrefix": strings.HasPrefix,
			"add":       func(a, b int) int { return a + b },
		}).ParseFS(assets, "templates/layout.html", "templates/parts.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parse template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// render writes a page whole or, if it fails, an error: a template error
// must not leave half a page that looks complete.
func (s *Server) render(w http.ResponseWriter, name string, status int, data any) {
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		s.logf("render %s: %v", name, err)
		http.Error(w, "console: could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	s.logf("%s %s: %v", r.Method, r.URL.Path, err)
	p := s.newPage(r, "", "error.title")
	p.Error = err.Error()
	s.render(w, "error", status, struct{ *page }{p})
}

// ---- fleet ----------------------------------------------------------------

// tile is one room on the fleet page.
type tile struct {
	Room        string
	Door        string // free, in_session, out_of_service, unknown
	Recording   bool
	Failing     []string
	Backlog     int
	BacklogSize int64
	Oldest      time.Duration
	Blocked     bool // uploads refused for good: needs an admin
	Quarantined int
	LastSeen    time.Time
	Stale       bool
	Error       string
	NoStatus    bool // never reported
	NeverSeen   bool // provisioned (the audit says) and nothing from its device in the bucket
	Revoked     bool // its device keys were revoked (the audit says)
	Provisioned time.Time
	Tampered    int
	TamperKnown bool
	ClockAhead  *time.Duration // the device's clock minus the server's; nil: never measured
	Forged      []string       // reports the reader refused (archive.RoomStatus.Forged)
	Checks      []room.CheckResult
}

func tileOf(rs archive.RoomStatus) tile {
	t := tile{Room: rs.Room, Door: "unknown", LastSeen: rs.LastSeen, Stale: rs.Stale, Error: rs.Error, Failing: rs.Failing,
		Tampered: rs.Tampered, TamperKnown: true, NeverSeen: rs.NeverSeen, Revoked: rs.Revoked, Provisioned: rs.Provisioned, Forged: rs.Forged}
	if rs.NeverSeen {
		// Said as such: not a kiosk gone quiet, one never installed.
		t.Stale = false
	}
	if rs.Status == nil && rs.LastSeen.IsZero() && strings.Contains(rs.Error, "no status.json") {
		t.NoStatus, t.Error = true, "" // said in the page's language
	}
	if st := rs.Status; st != nil {
		if st.Door != "" {
			t.Door = string(st.Door)
		}
		t.Recording = st.Recording
		t.Backlog, t.BacklogSize = st.Queue.Objects, st.Queue.Bytes
		t.Oldest = time.Duration(st.Queue.OldestAgeSec) * time.Second
		t.Blocked = st.Queue.LastErrorKind == "permanent"
		t.Quarantined = st.Queue.Quarantined
		t.Checks = st.Checks
		if ahead, ok := st.DeviceAhead(); ok {
			t.ClockAhead = &ahead
		}
	}
	return t
}

type fleetView struct {
	*page
	Tiles                                       []tile
	Total, InSession, Recording, Failing, Stale int
	NeverSeen                                   int
	Tampered                                    int
	TamperKnown                                 bool
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	if s.o.Archive.Reader {
		// A reader reads no room's status: its console starts at its
		// sessions.
		http.Redirect(w, r, "/sessions", http.StatusSeeOther)
		return
	}
	p := s.newPage(r, "fleet", "fleet.title")
	p.Refresh = 15
	rows, err := s.o.Archive.Statuses(ctx, p.Now)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	v := fleetView{page: p, TamperKnown: true}
	for _, rs := range rows {
		t := tileOf(rs)
		v.Total++
		if t.Door == string(room.DoorInSession) {
			v.InSession++
		}
		if t.Recording {
			v.Recording++
		}
		if len(t.Failing) > 0 {
			v.Failing++
		}
		if t.Stale {
			v.Stale++
		}
		if t.NeverSeen {
			v.NeverSeen++
		}
		v.Tampered += t.Tampered
		v.Tiles = append(v.Tiles, t)
	}
	s.render(w, "fleet", http.StatusOK, v)
}

// ---- room -----------------------------------------------------------------

var ranges = []struct {
	Key string
	D   time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

type chartView struct {
	ID, Title, Unit string
	Count           int
	Last            string
	SVG             template.HTML
}

type roomView struct {
	*page
	Tile     tile
	Range    string
	Ranges   []string
	From, To time.Time
	Charts   []chartView
	Events   []archive.LogLine
	Lines    int // log lines in range
	Skipped  int
	LogError string
	// Truncated: the range held more log than a page reads (see
	// archive.CheckLogReport); the charts show the part read.
	Truncated bool
	Sessions  []sessionRow
	SessErr   string
}

func (s *Server) room(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	id := r.PathValue("room")
	if err := admin.ValidRoomID(id); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	p := s.newPage(r, "fleet", "room.title")
	p.Title = p.T("room.title", "room", id)
	p.Refresh = 60
	v := roomView{page: p, Range: "24h"}
	span := ranges[0].D
	for _, rg := range ranges {
		v.Ranges = append(v.Ranges, rg.Key)
		if r.URL.Query().Get("range") == rg.Key {
			v.Range, span = rg.Key, rg.D
		}
	}
	v.To = p.Now
	v.From = v.To.Add(-span)
	rs, err := s.o.Archive.RoomStatus(ctx, id, p.Now)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	v.Tile = tileOf(rs)

	// The log is read from the start of From's UTC day: a day file's first
	// run line names every threshold, so the points early in the range are
	// judged against the thresholds in force then; the lines before From
	// are dropped once the series have them.
	rep, err := s.o.Archive.CheckLogReport(ctx, id, v.From.UTC().Truncate(24*time.Hour), v.To, p.Now)
	if err != nil {
		v.LogError = err.Error()
	}
	for _, f := range rep.Forged {
		if !slices.Contains(v.Tile.Forged, f) {
			v.Tile.Forged = append(v.Tile.Forged, f)
		}
	}
	v.Truncated = rep.Truncated
	series := BuildSeries(rep.Lines, v.Tile.Checks)
	var lines []archive.LogLine
	for _, l := range rep.Lines {
		if !l.At.Before(v.From) {
			lines = append(lines, l)
		}
	}
	skipped := rep.Skipped
	v.Lines, v.Skipped = len(lines), skipped
	lb := chartLabels{Min: p.T("chart.min"), Max: p.T("chart.max"), NoData: p.T("chart.nodata")}
	for _, se := range series {
		se.Points = slices.DeleteFunc(se.Points, func(pt Point) bool { return pt.At.Before(v.From) })
		cv := chartView{ID: se.ID, Title: p.T("series." + se.ID), Unit: se.Unit, Count: len(se.Points), SVG: RenderChart(se, v.From, v.To, lb)}
		if !hasKey("series." + se.ID) {
			cv.Title = se.ID
		}
		if n := len(se.Points); n > 0 {
			cv.Last = strconv.FormatFloat(se.Points[n-1].V, 'f', -1, 64) + " " + se.Unit
		}
		v.Charts = append(v.Charts, cv)
	}
	for i := len(lines) - 1; i >= 0 && len(v.Events) < 200; i-- {
		if lines[i].Kind != "run" {
			v.Events = append(v.Events, lines[i])
		}
	}
	rows, err := s.o.Archive.Sessions(ctx, archive.Filter{Room: id, Since: v.From})
	if err != nil {
		v.SessErr = err.Error()
	}
	for i := len(rows) - 1; i >= 0; i-- {
		v.Sessions = append(v.Sessions, rowOf(rows[i]))
	}
	s.render(w, "room", http.StatusOK, v)
}

// ---- sessions -------------------------------------------------------------

type sessionRow struct {
	archive.Session
	Tampered bool
	Tamper   []string
}

func rowOf(s archive.Session) sessionRow {
	return sessionRow{Session: s, Tampered: tampered(s), Tamper: tamperDetail(s)}
}

// ID is the session's id (the embedded Session is also a field's name, so
// templates say .ID).
func (r sessionRow) ID() string { return r.Session.Session }

// Playable says whether the session has audio to play.
func (r sessionRow) Playable() bool {
	return r.Manifest != nil && !r.Manifest.Deleted && r.State != archive.StateDeleted && r.State != "unreadable" && r.State != archive.StateDisposed
}

var sessionStates = []string{"recorded", "partial", "interrupted", "withdrawn", "deletion requested", "deleted",
	"declined", "not recorded", "abandoned", "uploading", "unreadable", "tampered", "disposed", "disposing"}

type sessionsView struct {
	*page
	Rooms                   []string
	Room, Since, Until, Sel string
	States                  []string
	Rows                    []sessionRow
}

func parseDay(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02)", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	q := r.URL.Query()
	p := s.newPage(r, "sessions", "sessions.title")
	v := sessionsView{page: p, Room: q.Get("room"), Since: q.Get("since"), Until: q.Get("until"), Sel: q.Get("state"), States: sessionStates}
	if v.Since == "" && !q.Has("since") {
		v.Since = p.Now.AddDate(0, 0, -30).UTC().Format(time.DateOnly)
	}
	var f archive.Filter
	var err error
	if v.Room != "" {
		if err := admin.ValidRoomID(v.Room); err != nil {
			s.fail(w, r, http.StatusBadRequest, err)
			return
		}
		f.Room = v.Room
	}
	if f.Since, err = parseDay(v.Since, false); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if f.Until, err = parseDay(v.Until, true); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if v.Rooms, err = s.o.Archive.Rooms(ctx); err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	sort.Strings(v.Rooms)
	rows, err := s.o.Archive.Sessions(ctx, f)
	if err == nil && s.o.Archive.Reader {
		// A reader's console (roomctl console --reader) lists the
		// sessions its identity opens.
		rows, err = s.o.Archive.Mine(ctx, rows, s.o.Identities)
	}
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	for i := len(rows) - 1; i >= 0; i-- {
		row := rowOf(rows[i])
		switch {
		case v.Sel == "":
		case v.Sel == "tampered" && row.Tampered:
		case v.Sel == row.State:
		default:
			continue
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, "sessions", http.StatusOK, v)
}

// ---- session --------------------------------------------------------------

type sessionView struct {
	*page
	Row        sessionRow
	Manifest   *manifest.Manifest
	Consent    *room.ConsentRecord
	ConsentErr string
	Ticket     string
	PlayErr    string
	Gaps       time.Duration
	// Roles the session is encrypted to (roles and counts, never names),
	// each marked when the console's identity holds it.
	Roles []roleCount
}

type roleCount struct {
	Role  string
	N     int
	Yours bool
}

// findSession lists the session's days (its id starts with its start) and
// returns its row with the summary and deletion state merged in.
func (s *Server) findSession(r *http.Request) (archive.Session, error) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	roomID, id := r.PathValue("room"), r.PathValue("id")
	if err := admin.ValidRoomID(roomID); err != nil {
		return archive.Session{}, err
	}
	if !manifest.ValidSessionID(id) {
		return archive.Session{}, fmt.Errorf("session %q: not a session id", id)
	}
	start, err := time.Parse("20060102T150405Z", id[:16])
	if err != nil {
		return archive.Session{}, fmt.Errorf("session %q: %w", id, err)
	}
	day := start.UTC().Truncate(24 * time.Hour)
	rows, err := s.o.Archive.Sessions(ctx, archive.Filter{Room: roomID, Since: day, Until: day.AddDate(0, 0, 2)})
	if err != nil {
		return archive.Session{}, err
	}
	for _, row := range rows {
		if row.Session == id {
			return row, nil
		}
	}
	return archive.Session{}, fmt.Errorf("session %s: not in the archive of room %s", id, roomID)
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	row, err := s.findSession(r)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	s.renderSession(w, r, row, r.URL.Query().Get("play"), "", http.StatusOK)
}

func (s *Server) renderSession(w http.ResponseWriter, r *http.Request, row archive.Session, ticket, playErr string, status int) {
	p := s.newPage(r, "sessions", "session.title")
	p.Title = p.T("session.title", "id", row.Session)
	v := sessionView{page: p, Row: rowOf(row), Manifest: row.Manifest, PlayErr: playErr}
	if m := row.Manifest; m != nil {
		for _, g := range m.Gaps {
			v.Gaps += time.Duration(g.DurationNS)
		}
		mine := map[string]bool{}
		for _, r := range archive.Recipients(s.o.Identities) {
			for _, role := range m.Roles(r) {
				mine[role] = true
			}
		}
		for _, a := range m.EncryptedTo {
			if n := len(v.Roles); n > 0 && v.Roles[n-1].Role == a.Role {
				v.Roles[n-1].N++
				continue
			}
			v.Roles = append(v.Roles, roleCount{Role: a.Role, N: 1, Yours: mine[a.Role]})
		}
		if pers, err := m.OpenPersonal(s.o.Identities...); err != nil {
			v.ConsentErr = err.Error()
		} else {
			v.Consent = &pers.Consent
		}
	}
	if ticket != "" && s.plays.valid(ticket, row.Room, row.Session) {
		v.Ticket = ticket
	}
	s.render(w, "session", status, v)
}
