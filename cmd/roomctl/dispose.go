package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
)

// dispose removes every session whose retention has ended (or whose
// erasure an admin requested) and that is not held, each with a
// certificate; safe to kill and run again.
func (a *app) dispose(ctx context.Context, args []string) error {
	fs := a.newFlags("dispose")
	var cf connFlags
	cf.register(fs)
	dry := fs.Bool("dry-run", false, "say what would be disposed of, change nothing")
	room := fs.String("room", "", "only this room")
	session := fs.String("session", "", "only this session: an error says why it cannot be disposed of")
	limit := fs.Int("limit", 0, "at most this many sessions this run (0: all); the next run takes the rest")
	asJSON := fs.Bool("json", false, "print JSON")
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
	if *limit < 0 {
		return usagef("dispose: --limit must be 0 or more")
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket, Workers: 16, CacheDir: a.cacheDir(c), Index: true}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	outs, derr := ar.Dispose(ctx, archive.DisposeOptions{DryRun: *dry, Who: c.AccessKey, Room: *room, Session: *session, Limit: *limit,
		Audit: func(r layout.AuditRecord) error { _, err := au.Write(ctx, r); return err }})
	if derr != nil && !*dry {
		// The failure is on record too (best effort: the server may be what failed).
		rec := admin.AuditRecord{Action: "dispose", Room: *room, Session: *session, Result: derr.Error()}
		if _, aerr := au.Write(ctx, rec); aerr != nil {
			derr = errors.Join(derr, aerr)
		}
	}
	if *asJSON {
		if err := printList(a, outs); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROOM\tSESSION\tCLASS\tRETAINED UNTIL\tREASON\tVERSIONS\tSIZE\tRESULT")
		disposed := 0
		for _, o := range outs {
			until := "-"
			if !o.RetainUntil.IsZero() {
				until = o.RetainUntil.UTC().Format("2006-01-02")
			}
			if o.Result == "disposed" {
				disposed++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", esc(o.Room), esc(o.Session), esc(o.Class), until, esc(o.Reason), o.Versions, humanBytes(o.Bytes), esc(o.Result))
		}
		tw.Flush()
		switch {
		case len(outs) == 0:
			fmt.Fprintln(a.stderr, "nothing to dispose of")
		case !*dry:
			fmt.Fprintf(a.stderr, "disposed of %d session(s); certificates under %s\n", disposed, layout.CertificatesPrefix)
		}
	}
	if derr != nil {
		return derr
	}
	return nil
}

// retention: `roomctl retention show|set FILE|apply|extend SESSION`.
func (a *app) retention(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("retention: want show, set FILE, apply or extend SESSION --until DATE --reason CODE")
	}
	verb, rest := args[0], args[1:]
	fs := a.newFlags("retention " + verb)
	var cf connFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var dry *bool
	var room, since, until, reason *string
	var lastDays *int
	switch verb {
	case "show", "set":
	case "apply":
		dry = fs.Bool("dry-run", false, "list what would be extended, change nothing")
		room = fs.String("room", "", "only this room")
		since = fs.String("since", "", "only sessions started on or after this date (2006-01-02)")
		lastDays = fs.Int("last-days", 0, "only sessions started in the last N days (for a nightly timer)")
	case "extend":
		room = fs.String("room", "", "the session's room (only needed if the id is ambiguous)")
		until = fs.String("until", "", "keep the session until this date (2006-01-02) or time (RFC 3339)")
		reason = fs.String("reason", "", "a reason `code` (never a name)")
	default:
		return usagef("retention: unknown %q: want show, set FILE, apply or extend SESSION", verb)
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	want := map[string][]string{"show": nil, "apply": nil, "set": {"FILE"}, "extend": {"SESSION"}}[verb]
	if err := wantArgs(fs, pos, want...); err != nil {
		return err
	}
	var f archive.Filter
	if room != nil && *room != "" {
		if err := admin.ValidRoomID(*room); err != nil {
			return usagef("--room: %v", err)
		}
		f.Room = *room
	}
	if since != nil {
		if f.Since, err = parseDate("since", *since, false); err != nil {
			return err
		}
		switch {
		case *lastDays < 0:
			return usagef("retention apply: --last-days must be 0 or more")
		case *lastDays > 0 && *since != "":
			return usagef("retention apply: give --since or --last-days, not both")
		case *lastDays > 0:
			f.Since = time.Now().UTC().AddDate(0, 0, -*lastDays)
		}
	}
	var p *layout.RetentionPolicy
	if verb == "set" {
		if p, err = readPolicyFile(pos[0]); err != nil {
			return err
		}
	}
	var untilT time.Time
	if verb == "extend" {
		if *until == "" || *reason == "" {
			return usagef("retention extend: want --until DATE and --reason CODE")
		}
		if untilT, err = parseDate("until", *until, true); err != nil {
			return err
		}
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket, Workers: 16, CacheDir: a.cacheDir(c), Index: true}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	audit := func(rec admin.AuditRecord, err error) error {
		if err != nil {
			rec.Result = err.Error()
		}
		if _, aerr := au.Write(ctx, rec); aerr != nil {
			return errors.Join(err, aerr)
		}
		return err
	}
	switch verb {
	case "show":
		p, err := ar.RetentionPolicy(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return a.printJSON(p)
		}
		return toml.NewEncoder(a.stdout).Encode(policyFile{Default: p.Default, Classes: p.Classes, Rooms: p.Rooms})
	case "set":
		p.UpdatedAt, p.UpdatedBy = time.Now().UTC(), c.AccessKey
		err := ar.SetRetentionPolicy(ctx, p)
		var classes []string
		for _, k := range slices.Sorted(maps.Keys(p.Classes)) {
			classes = append(classes, k+"="+p.Classes[k])
		}
		if err := audit(admin.AuditRecord{Action: "retention-set", Objects: []string{layout.RetentionPolicyKey},
			Detail: "classes " + strings.Join(classes, ", ") + "; default " + p.Default}, err); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "retention policy stored: %s; default %s; %d room(s) named\n", esc(strings.Join(classes, ", ")), esc(p.Default), len(p.Rooms))
		return nil
	case "extend":
		res, err := ar.Extend(ctx, *room, pos[0], untilT, *reason, c.AccessKey)
		if err := audit(admin.AuditRecord{Action: "retention-extend", Room: res.Room, Session: pos[0],
			Detail: "until " + untilT.UTC().Format(time.RFC3339) + ", reason " + *reason}, err); err != nil {
			return err
		}
		if *asJSON {
			return a.printJSON(res)
		}
		fmt.Fprintf(a.stdout, "session %s of room %s kept until %s: server retention extended on %d of %d version(s)\n",
			esc(res.Session), esc(res.Room), res.Until.Format(time.RFC3339), res.Extended, res.Versions)
		return nil
	}
	// apply
	res, err := ar.ApplyRetentions(ctx, f, time.Now(), *dry)
	extended := 0
	for _, r := range res {
		extended += r.Extended
	}
	if !*dry {
		if err := audit(admin.AuditRecord{Action: "retention-apply", Room: f.Room, Detail: fmt.Sprintf("%d sessions, %d versions extended", len(res), extended)}, err); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if *asJSON {
		return printList(a, res)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tSESSION\tCLASS\tRETAINED UNTIL\tVERSIONS\tEXTENDED")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", esc(r.Room), esc(r.Session), esc(r.Class), r.Until.UTC().Format("2006-01-02"), r.Versions, r.Extended)
	}
	return tw.Flush()
}

// policyFile is the TOML an admin writes for `roomctl retention set`:
//
//	default = "clinical"
//	[classes]
//	supervision = "120d"
//	clinical = "7y"
//	[rooms]
//	"101" = "supervision"
type policyFile struct {
	Default string            `toml:"default"`
	Classes map[string]string `toml:"classes"`
	Rooms   map[string]string `toml:"rooms,omitempty"`
}

func readPolicyFile(path string) (*layout.RetentionPolicy, error) {
	var pf policyFile
	md, err := toml.DecodeFile(path, &pf)
	if err != nil {
		return nil, fmt.Errorf("retention policy %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("retention policy %s: unknown key %s", path, und[0])
	}
	p := &layout.RetentionPolicy{Version: layout.RetentionPolicyVersion, Default: pf.Default, Classes: pf.Classes, Rooms: pf.Rooms}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// deletionsRequest records an admin's request to erase a session (a
// client asked after the session): `roomctl dispose` carries it out,
// certified, unless the session is held.
func (a *app) deletionsRequest(ctx context.Context, args []string) error {
	fs := a.newFlags("deletions request")
	var cf connFlags
	cf.register(fs)
	reason := fs.String("reason", "", "a reason `code` (client-request, ...): never a name")
	room := fs.String("room", "", "the session's room (only needed if the id is ambiguous)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "SESSION"); err != nil {
		return err
	}
	if *reason == "" {
		return usagef("deletions request: missing --reason CODE")
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket}
	s, err := ar.RequestErasure(ctx, *room, pos[0], *reason, c.AccessKey)
	rec := admin.AuditRecord{Action: "erasure-request", Room: s.Room, Session: pos[0], Objects: []string{layout.ErasureKey(s.Room, pos[0])}, Detail: "reason " + *reason}
	if err != nil {
		rec.Result = err.Error()
	}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	if _, aerr := au.Write(ctx, rec); aerr != nil {
		return errors.Join(err, aerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "erasure of session %s of room %s requested (%s): `roomctl dispose` removes every version and certifies it", esc(s.Session), esc(s.Room), esc(*reason))
	if s.Held {
		fmt.Fprintf(a.stdout, "; the session is HELD (%s): not before the hold is cleared", esc(s.HoldReason))
	}
	fmt.Fprintln(a.stdout)
	return nil
}
