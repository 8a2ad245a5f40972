package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	"golang.org/x/term"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
)

// parseDate reads 2006-01-02 (a whole UTC day) or an RFC 3339 time. For
// --until a bare day includes that day.
func parseDate(flagName, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--%s %q: not a date (2006-01-02) or time (2006-01-02T15:04:05Z)", flagName, s)
}

func (a *app) sessions(ctx context.Context, args []string) error {
	fs := a.newFlags("sessions")
	var cf connFlags
	cf.register(fs)
	room := fs.String("room", "", "only this room")
	since := fs.String("since", "", "only sessions started on or after this date (2006-01-02, UTC) or time (RFC 3339)")
	until := fs.String("until", "", "only sessions started on or before this date (inclusive) or before this time")
	asJSON := fs.Bool("json", false, "print JSON")
	noCache := fs.Bool("no-cache", false, "read every manifest and summary from the server, not from the local cache of versions read")
	idFile := fs.String("i", "", "list only the sessions this age identity `file` opens (its role in each, or a grant)")
	readerOpt := readerFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if *room != "" {
		if err := admin.ValidRoomID(*room); err != nil {
			return usagef("--room: %v", err)
		}
	}
	reader, err := a.readerName(*readerOpt)
	if err != nil {
		return err
	}
	if reader != "" && *idFile == "" {
		return usagef("sessions: a reader lists the sessions their identity opens: give -i IDENTITY")
	}
	var f archive.Filter
	f.Room = *room
	if f.Since, err = parseDate("since", *since, false); err != nil {
		return err
	}
	if f.Until, err = parseDate("until", *until, true); err != nil {
		return err
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	// 16 rooms at a time: measured over 500 rooms on a 2-core MinIO, 8,
	// 16, 32, 64 and 128 concurrent listings took 1.37, 1.18, 1.69, 1.72
	// and 1.81 x a single mc listing (bench/REPORT.md): past 16 the
	// server's listings only contend; a remote server's latency is hidden
	// by 16 as well (about 3 requests a room).
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket, Workers: 16, Reader: reader != "", Witness: reader == "", Index: reader == ""}
	if !*noCache {
		ar.CacheDir = a.cacheDir(c)
	}
	rows, err := ar.Sessions(ctx, f)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if *idFile != "" {
		ids, err := readIdentities(*idFile)
		if err != nil {
			return err
		}
		if rows, err = ar.Mine(ctx, rows, ids); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
	}
	if *asJSON {
		return printList(a, rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	head := "ROOM\tSESSION\tSTART (UTC)\tDURATION\tCLIENTS\tSEGMENTS\tSTATE\tSIZE\tFEEDBACK\tRETENTION\tHOLD"
	if *idFile != "" {
		head += "\tYOUR ACCESS"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		segs := fmt.Sprint(r.Segments)
		if r.Partial > 0 {
			segs += fmt.Sprintf(" (%d partial)", r.Partial)
		}
		clients, feedback := "-", "-"
		if r.Participants > 0 {
			clients = fmt.Sprint(r.Participants)
		}
		if r.Children > 0 {
			clients += fmt.Sprintf(" (with children: %d)", r.Children)
		}
		if r.Feedback > 0 {
			feedback = fmt.Sprintf("%d/5", r.Feedback)
		}
		state := r.State
		if r.Tampered && state != archive.StateTampered {
			state += ", TAMPERED"
		}
		if r.State == archive.StateDisposed {
			state = "disposed on " + r.DisposedAt.UTC().Format("2006-01-02")
		}
		ret, hold := retentionColumns(r)
		access := ""
		if *idFile != "" {
			access = "\t" + strings.Join(r.Access, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", esc(r.Room), esc(r.Session), r.Started.UTC().Format("2006-01-02 15:04:05"),
			r.Duration.Round(time.Second), clients, segs, esc(state), humanBytes(r.Bytes), feedback, ret, hold, access)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(a.stderr, "warning: %s\n", esc(r.Error))
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(a.stderr, "warning: %s\n", esc(w))
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.stderr, "no sessions match")
	}
	return nil
}

func humanBytes(n int64) string {
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

func readIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return ids, nil
}

func (a *app) pull(ctx context.Context, args []string) error {
	fs := a.newFlags("pull")
	var cf connFlags
	cf.register(fs)
	idFile := fs.String("i", "", "age identity `file` (from roomctl keygen)")
	out := fs.String("o", "", "the WAV `file` to write")
	room := fs.String("room", "", "the session's room (only needed if the id is ambiguous)")
	force := fs.Bool("force", false, "replace the output file if it exists")
	original := fs.Bool("original", false, "pull a tampered session from its genuine records: what every version agrees on or the admin witness saw first, each segment by the manifest's SHA-256 (audited)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	readerOpt := readerFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "SESSION"); err != nil {
		return err
	}
	reader, err := a.readerName(*readerOpt)
	if err != nil {
		return err
	}
	var missing []string
	if *idFile == "" {
		missing = append(missing, "-i IDENTITY")
	}
	if *out == "" {
		missing = append(missing, "-o OUT.wav")
	}
	if len(missing) > 0 {
		return usagef("pull: missing %s", strings.Join(missing, " and "))
	}
	ids, err := readIdentities(*idFile)
	if err != nil {
		return err
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	// A reader writes no witness record (admin/ is not theirs).
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket, Reader: reader != "", Witness: reader == ""}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey, Reader: reader}
	bar := a.progressBar(pos[0])
	res, err := ar.Pull(ctx, archive.PullOptions{
		SessionID: pos[0], Room: *room, Identities: ids, Out: *out, Overwrite: *force, Original: *original,
		Progress: bar.update,
		BeforeCommit: func(r archive.PullResult) error {
			// The audit record is durable before the audio is handed over.
			detail := fmt.Sprintf("%d segments, %d frames, %d recovered partial", r.Session.Segments, r.Frames, len(r.Recovered))
			if r.Grant != "" {
				detail += "; through grant " + r.Grant
			} else if len(r.Roles) > 0 {
				detail += "; as " + strings.Join(r.Roles, ", ")
			}
			if r.Original {
				detail += "; TAMPERED session pulled from its genuine records (--original): " + strings.Join(r.Session.TamperedKeys, ", ")
			}
			_, err := au.Write(ctx, admin.AuditRecord{Action: "pull", Room: r.Session.Room, Session: r.Session.Session,
				Objects: []string{r.Session.Key}, Detail: detail})
			return err
		},
	})
	bar.done()
	if err != nil {
		// Failed attempts are audited too (best effort: the server may be
		// what failed).
		rm := *room
		if res.Session.Room != "" {
			rm = res.Session.Room // the session was found before the failure
		}
		if _, aerr := au.Write(ctx, admin.AuditRecord{Action: "pull", Room: rm, Session: pos[0], Result: err.Error()}); aerr != nil {
			return errors.Join(err, aerr)
		}
		return err
	}
	if *asJSON {
		return a.printJSON(res)
	}
	if res.Original {
		fmt.Fprintf(a.stderr, "warning: session %s is TAMPERED (%s): wrote its genuine records (agreed or witnessed)\n", esc(res.Session.Session), esc(strings.Join(res.Session.TamperedKeys, ", ")))
	}
	fmt.Fprintf(a.stdout, "wrote %s: session %s of room %s, %s of audio (%d segments", res.Out, esc(res.Session.Session), esc(res.Session.Room),
		(time.Duration(res.Frames) * time.Second / time.Duration(res.Session.Manifest.Format.SampleRate)).Round(time.Millisecond), res.Session.Segments)
	if res.SilenceFrames > 0 {
		fmt.Fprintf(a.stdout, ", %s of silence for gaps", (time.Duration(res.SilenceFrames) * time.Second / time.Duration(res.Session.Manifest.Format.SampleRate)).Round(time.Millisecond))
	}
	if len(res.Recovered) > 0 {
		fmt.Fprintf(a.stdout, ", recovered prefix of partial %s", esc(strings.Join(res.Recovered, ", ")))
	}
	fmt.Fprintln(a.stdout, ")")
	return nil
}

// progress draws a one-line bar on stderr when it is a terminal; elsewhere
// (pipes, logs, tests) it stays silent.
type progress struct {
	a     *app
	f     *os.File
	label string
	drawn bool
}

func (a *app) progressBar(label string) *progress {
	p := &progress{a: a, label: label}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.f = f
	}
	return p
}

func (p *progress) update(pr archive.Progress) {
	if p.f == nil || pr.Total == 0 {
		return
	}
	const width = 30
	fill := width * pr.Done / pr.Total
	fmt.Fprintf(p.f, "\r%s [%s%s] %d/%d segments, %s / %s ", p.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
		pr.Done, pr.Total, humanBytes(pr.Bytes), humanBytes(pr.TotalBytes))
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.f)
	}
}

func (a *app) status(ctx context.Context, args []string) error {
	fs := a.newFlags("status")
	var cf connFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	now := time.Now()
	rows, err := (&archive.Archive{Client: cl, Bucket: c.Bucket, Workers: 32}).Statuses(ctx, now)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if *asJSON {
		return printList(a, rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tDOOR\tRECORDING\tFAILING CHECKS\tBACKLOG\tLAST SEEN\tCLOCK OFFSET\tTAMPERED\tLAST MAINTENANCE\tREPORTED PROBLEMS\tHELD\tLEGAL HOLDS")
	for _, r := range rows {
		seen := "never"
		if !r.LastSeen.IsZero() {
			seen = now.Sub(r.LastSeen).Round(time.Second).String() + " ago"
		}
		if r.Stale {
			seen = "STALE " + seen
		}
		if r.NeverSeen {
			// Provisioned (the audit says) and nothing from its kiosk yet.
			seen = "never seen (provisioned " + r.Provisioned.UTC().Format(time.DateOnly) + ")"
		}
		if len(r.Forged) > 0 {
			seen += " FORGED"
		}
		tampered := "-"
		if r.Tampered > 0 {
			tampered = fmt.Sprintf("%d SESSIONS", r.Tampered)
		}
		holds := "-"
		if r.LegalHolds > 0 {
			holds = fmt.Sprintf("%d HELD", r.LegalHolds)
		}
		door := func(d string) string {
			if r.Revoked {
				return "REVOKED" // its kiosk's keys no longer work, whatever it last said
			}
			return esc(d)
		}
		if r.Status == nil {
			fmt.Fprintf(tw, "%s\t%s\t?\t%s\t\t%s\t\t%s\t\t\t\t%s\n", esc(r.Room), door("?"), esc(r.Error), seen, tampered, holds)
			continue
		}
		st := r.Status
		rec := "no"
		if st.Recording {
			rec = "RECORDING"
		}
		failing := strings.Join(escAll(r.Failing), ",")
		if failing == "" {
			failing = "-"
		}
		backlog := "-"
		if st.Queue.Objects > 0 {
			backlog = fmt.Sprintf("%d (%s, oldest %s)", st.Queue.Objects, humanBytes(st.Queue.Bytes), (time.Duration(st.Queue.OldestAgeSec) * time.Second).String())
		}
		if st.Queue.LastErrorKind == "permanent" {
			backlog += " BLOCKED"
		}
		clock := "-"
		if ahead, ok := st.DeviceAhead(); ok {
			clock = clockWords(ahead)
		}
		maint, problems, held := maintenanceColumns(st, now)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(r.Room), door(string(st.Door)), rec, failing, backlog, seen, clock, tampered, maint, problems, held, holds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Tampered > 0 {
			fmt.Fprintf(a.stderr, "warning: room %s has %d TAMPERED session(s): `roomctl sessions --room %s` names them\n", esc(r.Room), r.Tampered, esc(r.Room))
		}
		for _, f := range r.Forged {
			fmt.Fprintf(a.stderr, "warning: room %s: FORGED report: %s\n", esc(r.Room), esc(f))
		}
	}
	return nil
}

func (a *app) deletionsApply(ctx context.Context, args []string) error {
	fs := a.newFlags("deletions apply")
	var cf connFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	dry := fs.Bool("dry-run", false, "list the requests and what they would remove, change nothing")
	session := fs.String("session", "", "carry out only this session's request (with --room)")
	room := fs.String("room", "", "the room of --session")
	confirm := fs.Bool("confirm", false, "with --session: apply the request even if it is suspicious (nothing the session's device wrote at the time backs it)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	switch {
	case *session != "" && *room == "":
		return usagef("deletions apply: --session needs --room")
	case *session == "" && (*room != "" || *confirm):
		return usagef("deletions apply: --room and --confirm name one request: give --session too")
	case *session != "" && *dry:
		return usagef("deletions apply: --dry-run lists every request; leave out --session")
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket, Witness: true}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	auditOutcome := func(o archive.DeletionOutcome) error {
		rec := o.AuditRecord()
		_, err := au.Write(ctx, rec)
		return err
	}
	var outs []archive.DeletionOutcome
	var applyErr error
	if *session != "" {
		o, err := ar.ApplyDeletion(ctx, *room, *session, *confirm, auditOutcome)
		if o.Key != "" {
			outs = append(outs, o)
		}
		applyErr = err
		if errors.Is(err, archive.ErrSuspicious) {
			// Refused: audited too, so the attempt is on record.
			if aerr := auditOutcome(o); aerr != nil {
				applyErr = errors.Join(err, aerr)
			}
		}
	} else if *dry {
		reqs, err := ar.DeletionRequests(ctx)
		if err != nil {
			return fmt.Errorf("deletions: %w", err)
		}
		for _, r := range reqs {
			o := archive.DeletionOutcome{DeletionRequest: r, Result: "dry run"}
			switch {
			case r.Request != nil && r.Suspicious:
				o.Result = "dry run: suspicious, would not be applied: " + r.Why
			case r.Request != nil:
				vs, err := ar.SessionVersions(ctx, r.Room, r.Request.SessionID)
				if err != nil {
					return fmt.Errorf("deletions: %w", err)
				}
				o.Removed = archive.RemovedOnDeletion(vs) // the summary stays
			default:
				o.Result = r.Error
			}
			outs = append(outs, o)
		}
	} else {
		outs, applyErr = ar.ApplyDeletions(ctx, auditOutcome)
	}
	if *asJSON {
		if err := printList(a, outs); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROOM\tSESSION\tVERSIONS REMOVED\tRESULT")
		for _, o := range outs {
			id := "?"
			if o.Request != nil {
				id = o.Request.SessionID
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", esc(o.Room), esc(id), len(o.Removed), esc(o.Result))
		}
		tw.Flush()
		if len(outs) == 0 {
			fmt.Fprintln(a.stderr, "no deletion requests")
		}
	}
	if applyErr != nil {
		return fmt.Errorf("deletions: %w", applyErr)
	}
	return nil
}

// retentionColumns are a session row's RETENTION (class and end) and HOLD
// columns.
func retentionColumns(r archive.Session) (ret, hold string) {
	ret, hold = "-", "-"
	switch {
	case r.State == archive.StateDisposed:
	case r.Class != "":
		ret = esc(r.Class) + " until " + r.RetainUntil.UTC().Format("2006-01-02")
	}
	if r.ErasureRequested != "" {
		ret += ", ERASURE REQUESTED"
	}
	if r.Held {
		hold = "HELD (" + esc(r.HoldReason) + ")"
	}
	return ret, hold
}

// clockWords says how far a device's clock is off in words that carry the
// sign, as the console and the clock check do: "ahead 1.5s", "behind
// 2.0s", "in step" (within layout.ClockResolution: the server's Date header
// has whole seconds).
func clockWords(ahead time.Duration) string {
	switch {
	case ahead > layout.ClockResolution:
		return fmt.Sprintf("ahead %.1fs", ahead.Seconds())
	case ahead < -layout.ClockResolution:
		return fmt.Sprintf("behind %.1fs", -ahead.Seconds())
	}
	return "in step"
}
