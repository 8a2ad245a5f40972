package console

import (
	"context"
	"net/http"
	"time"

	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
)

// The disposal page: what `roomctl dispose --dry-run` says, and a button
// that runs `roomctl dispose` (certified, audited the same way) after an
// explicit confirmation.

type disposeView struct {
	*page
	Outcomes []archive.DisposalOutcome
	Due      int  // sessions that would be disposed of
	Ran      bool // the outcomes are a run's, not a dry run's
	Err      string
}

// disposeConfirmWord is what the confirmation checkbox sends.
const disposeConfirmWord = "yes-dispose-for-good"

func (s *Server) disposeOptions(ctx context.Context, dry bool) archive.DisposeOptions {
	au := s.o.Auditor
	return archive.DisposeOptions{DryRun: dry, Who: au.Who, Audit: func(r layout.AuditRecord) error { _, err := au.Write(ctx, r); return err }}
}

func (s *Server) dispose(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageCtx(r)
	defer cancel()
	p := s.newPage(r, "dispose", "dispose.title")
	outs, err := s.o.Archive.Dispose(ctx, s.disposeOptions(ctx, true))
	v := disposeView{page: p, Outcomes: outs}
	if err != nil {
		v.Err = err.Error()
	}
	for _, o := range outs {
		if o.Result == "would dispose" || o.Result == "would finish an interrupted disposal" {
			v.Due++
		}
	}
	s.render(w, "dispose", http.StatusOK, v)
}

func (s *Server) disposeRun(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "dispose", "dispose.title")
	if r.PostFormValue("confirm") != disposeConfirmWord {
		p.Error = p.T("confirm.needed")
		s.render(w, "dispose", http.StatusBadRequest, disposeView{page: p})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Minute)
	defer cancel()
	outs, err := s.o.Archive.Dispose(ctx, s.disposeOptions(ctx, false))
	v := disposeView{page: p, Outcomes: outs, Ran: true}
	status := http.StatusOK
	if err != nil {
		v.Err, status = err.Error(), http.StatusBadGateway
		// The failure is on record too, as roomctl dispose does.
		_, _ = s.o.Auditor.Write(ctx, layout.AuditRecord{Action: "dispose", Result: err.Error()})
	}
	s.render(w, "dispose", status, v)
}
