package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

// deletionRow is one uploaded request with what applying it would do.
type deletionRow struct {
	archive.DeletionRequest
	Valid   bool   // readable and consistent (it may still be Suspicious)
	Verify  string // the reader's verdict, shown as is
	Removes []archive.ObjectVersion
	ListErr string
}

type deletionsView struct {
	*page
	Rows  []deletionRow
	Valid int // verified: backed by the session's undisputed records
	// One is the single (suspicious) request the confirmation is for;
	// nil for the bulk confirmation of the verified ones.
	One *deletionRow
}

func (s *Server) loadDeletions(ctx context.Context) ([]deletionRow, int, error) {
	reqs, err := s.o.Archive.DeletionRequests(ctx)
	if err != nil {
		return nil, 0, err
	}
	var rows []deletionRow
	valid := 0
	for _, req := range reqs {
		row := deletionRow{DeletionRequest: req, Valid: req.Request != nil && req.Error == "", Verify: deletionVerdict(req)}
		if row.Valid {
			if !req.Suspicious {
				valid++
			}
			vs, err := s.o.Archive.SessionVersions(ctx, req.Room, req.Request.SessionID)
			if err != nil {
				row.ListErr = err.Error()
			}
			row.Removes = archive.RemovedOnDeletion(vs) // the summary stays
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows, valid, nil
}

func (s *Server) deletions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	p := s.newPage(r, "deletions", "deletions.title")
	rows, valid, err := s.loadDeletions(ctx)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	s.render(w, "deletions", http.StatusOK, deletionsView{page: p, Rows: rows, Valid: valid})
}

// deletionsConfirm lists exactly what applying will remove and asks for the
// admin's explicit confirmation.
func (s *Server) deletionsConfirm(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "deletions", "confirm.title")
	v, err := s.confirmView(r, p)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	s.render(w, "confirm", http.StatusOK, v)
}

// confirmView lists what applying will remove: every verified request, or
// the one request named by room and session (a suspicious one, which only
// an admin naming it applies).
func (s *Server) confirmView(r *http.Request, p *page) (deletionsView, error) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	rows, valid, err := s.loadDeletions(ctx)
	if err != nil {
		return deletionsView{}, err
	}
	v := deletionsView{page: p, Rows: rows, Valid: valid}
	if room, id := r.FormValue("room"), r.FormValue("session"); room != "" || id != "" {
		for i := range rows {
			if rows[i].Room == room && rows[i].Request != nil && rows[i].Request.SessionID == id && rows[i].Valid {
				v.One = &rows[i]
			}
		}
		if v.One == nil {
			return v, fmt.Errorf("no readable deletion request for session %q of room %q", id, room)
		}
	}
	return v, nil
}

type appliedView struct {
	*page
	Outcomes []archive.DeletionOutcome
	Err      string
	Note     string
}

// confirmWord is what the confirmation form's checkbox sends.
const confirmWord = "yes-delete-for-good"

// deletionsApply carries out the requests, auditing each outcome exactly as
// `roomctl deletions apply` does, but only with the confirmation.
func (s *Server) deletionsApply(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != confirmWord {
		p := s.newPage(r, "deletions", "confirm.title")
		p.Error = p.T("confirm.needed")
		v, err := s.confirmView(r, p)
		if err != nil {
			s.fail(w, r, http.StatusBadGateway, err)
			return
		}
		s.render(w, "confirm", http.StatusBadRequest, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	au := s.o.Auditor
	audit := func(o archive.DeletionOutcome) error {
		_, err := au.Write(ctx, o.AuditRecord())
		return err
	}
	var outs []archive.DeletionOutcome
	var err error
	if room, id := r.PostFormValue("room"), r.PostFormValue("session"); room != "" || id != "" {
		// One request the admin named and confirmed (suspicious ones too).
		var o archive.DeletionOutcome
		o, err = s.o.Archive.ApplyDeletion(ctx, room, id, true, audit)
		if o.Key != "" {
			outs = append(outs, o)
		}
	} else {
		outs, err = s.o.Archive.ApplyDeletions(ctx, audit)
	}
	p := s.newPage(r, "deletions", "applied.title")
	v := appliedView{page: p, Outcomes: outs}
	status := http.StatusOK
	switch {
	case errors.Is(err, archive.ErrSuspicious) && r.PostFormValue("session") == "":
		// Left in place by design: each needs the admin to name it.
		v.Note = p.T("applied.suspicious")
	case err != nil:
		v.Err = err.Error()
		status = http.StatusBadGateway
	}
	s.render(w, "applied", status, v)
}

// ---- audit ----------------------------------------------------------------

type auditView struct {
	*page
	Since   string
	Action  string
	Actions []string
	Records []admin.AuditRecord
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	q := r.URL.Query()
	p := s.newPage(r, "audit", "audit.title")
	v := auditView{page: p, Since: q.Get("since"), Action: q.Get("action")}
	if v.Since == "" {
		v.Since = p.Now.AddDate(0, 0, -30).UTC().Format(time.DateOnly)
	}
	since, err := parseDay(v.Since, false)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	recs, err := admin.ReadAuditSince(ctx, s.o.Archive.Client, s.o.Archive.Bucket, since)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err)
		return
	}
	seen := map[string]bool{}
	for i := len(recs) - 1; i >= 0; i-- {
		a := recs[i].Action
		if !seen[a] {
			seen[a] = true
			v.Actions = append(v.Actions, a)
		}
		if v.Action == "" || v.Action == a {
			v.Records = append(v.Records, recs[i])
		}
	}
	sort.Strings(v.Actions)
	s.render(w, "audit", http.StatusOK, v)
}
