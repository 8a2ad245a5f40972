package main

import (
	"context"
	"errors"
	"fmt"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

// hold puts or lifts a legal hold: `roomctl hold set|clear SESSION --reason
// CODE [--room R]`. Audited either way, failures included.
func (a *app) hold(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "clear") {
		return usagef("hold: want `roomctl hold set SESSION --reason CODE` or `roomctl hold clear SESSION --reason CODE`")
	}
	verb := args[0]
	fs := a.newFlags("hold " + verb)
	var cf connFlags
	cf.register(fs)
	reason := fs.String("reason", "", "a reason `code` from the practice's list (subpoena, complaint-2026-14): never a name")
	room := fs.String("room", "", "the session's room (only needed if the id is ambiguous)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "SESSION"); err != nil {
		return err
	}
	if *reason == "" {
		return usagef("hold %s: missing --reason CODE", verb)
	}
	if *room != "" {
		if err := admin.ValidRoomID(*room); err != nil {
			return usagef("--room: %v", err)
		}
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	var o archive.HoldOutcome
	if verb == "set" {
		o, err = ar.SetHold(ctx, *room, pos[0], *reason, c.AccessKey)
	} else {
		o, err = ar.ClearHold(ctx, *room, pos[0], *reason)
	}
	if o.Room == "" {
		o.Room = *room
	}
	if _, aerr := au.Write(ctx, o.AuditRecord("hold-"+verb, err)); aerr != nil {
		return errors.Join(err, aerr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(o)
	}
	if verb == "set" {
		fmt.Fprintf(a.stdout, "session %s of room %s is held (%s): legal hold on %d version(s); nobody can dispose of it until `roomctl hold clear`\n",
			esc(o.Session), esc(o.Room), esc(o.Reason), len(o.Versions))
	} else {
		fmt.Fprintf(a.stdout, "session %s of room %s is no longer held: legal hold lifted from %d version(s); its retention applies again\n",
			esc(o.Session), esc(o.Room), len(o.Versions))
	}
	return nil
}
