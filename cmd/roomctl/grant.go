package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

// grant adds a recipient to an archived session (its segments' headers
// re-wrapped into one grant record under grants/, the audio untouched), lists a session's grants,
// or revokes one; audited.
func (a *app) grant(ctx context.Context, args []string) error {
	fs := a.newFlags("grant")
	var cf connFlags
	cf.register(fs)
	idFile := fs.String("i", "", "an escrow age identity `file` (unwraps the segments' file keys)")
	to := fs.String("to", "", "the `recipient` (age1...) to give the session to")
	room := fs.String("room", "", "the session's room (only needed if the id is ambiguous)")
	revoke := fs.Bool("revoke", false, "remove the grant of --to (every version of its objects)")
	list := fs.Bool("list", false, "list the session's grants")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "SESSION"); err != nil {
		return err
	}
	sid := pos[0]
	switch {
	case *list && (*revoke || *to != "" || *idFile != ""):
		return usagef("grant: --list takes only SESSION (and --room)")
	case !*list && *to == "":
		return usagef("grant: missing --to RECIPIENT (age1...)")
	case !*list && !*revoke && *idFile == "":
		return usagef("grant: missing -i IDENTITY (an escrow identity unwraps the file keys)")
	case *revoke && *idFile != "":
		return usagef("grant --revoke: needs no identity (-i): it only removes the grant's objects")
	case *room != "":
		if err := admin.ValidRoomID(*room); err != nil {
			return usagef("--room: %v", err)
		}
	}
	if *to != "" {
		if _, err := archive.ParseRecipient(*to); err != nil {
			return usagef("grant: %v", err)
		}
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	ar := &archive.Archive{Client: cl, Bucket: c.Bucket}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}

	if *list {
		s, err := ar.FindSession(ctx, sid, *room)
		if err != nil {
			return fmt.Errorf("grant --list: %w", err)
		}
		gs, err := ar.Grants(ctx, s.Room, s.Session)
		if err != nil {
			return fmt.Errorf("grant --list: %w", err)
		}
		if *asJSON {
			return printList(a, gs)
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECIPIENT\tSEGMENTS\tGRANTED (UTC)\tBY")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", esc(g.Recipient), g.Segments, g.GrantedAt.UTC().Format("2006-01-02 15:04:05"), esc(g.By))
		}
		tw.Flush()
		if len(gs) == 0 {
			fmt.Fprintf(a.stderr, "session %s has no grants\n", esc(s.Session))
		}
		return nil
	}

	if *revoke {
		removed, rerr := ar.Revoke(ctx, sid, *room, *to)
		rec := admin.AuditRecord{Action: "grant-revoke", Room: *room, Session: sid,
			Detail: fmt.Sprintf("recipient %s: %d object versions removed", strings.TrimSpace(*to), len(removed))}
		for _, v := range removed {
			rec.Objects = append(rec.Objects, v.String())
			if rec.Room == "" {
				rec.Room = strings.Split(v.Key, "/")[1]
			}
		}
		if rerr != nil {
			rec.Result = rerr.Error()
		}
		if _, err := au.Write(ctx, rec); err != nil {
			return errors.Join(rerr, err)
		}
		if rerr != nil {
			return rerr
		}
		if *asJSON {
			return printList(a, removed)
		}
		fmt.Fprintf(a.stdout, "revoked the grant of session %s to %s: %d object versions removed; the next pull with that identity is refused\n",
			esc(sid), esc(strings.TrimSpace(*to)), len(removed))
		return nil
	}

	ids, err := readIdentities(*idFile)
	if err != nil {
		return err
	}
	res, err := ar.Grant(ctx, archive.GrantOptions{SessionID: sid, Room: *room, Identities: ids, To: *to, By: c.AccessKey,
		BeforeCommit: func(r archive.GrantResult) error {
			// Audited before the grant record makes the headers usable.
			_, err := au.Write(ctx, admin.AuditRecord{Action: "grant", Room: r.Session.Room, Session: r.Session.Session,
				Objects: []string{r.Session.Key},
				Detail:  fmt.Sprintf("to %s (fingerprint %s): %d segment headers, %d bytes of headers read", r.Recipient, r.Fingerprint, r.Headers, r.HeaderBytes)})
			return err
		}})
	if err != nil {
		rm := *room
		if res.Session.Room != "" {
			rm = res.Session.Room
		}
		if _, aerr := au.Write(ctx, admin.AuditRecord{Action: "grant", Room: rm, Session: sid, Result: err.Error(),
			Detail: "to " + strings.TrimSpace(*to)}); aerr != nil {
			return errors.Join(err, aerr)
		}
		return err
	}
	if *asJSON {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.stdout, "granted session %s of room %s to %s (fingerprint %s): %d segment headers in %s, %d bytes of headers read, audio untouched\n",
		esc(res.Session.Session), esc(res.Session.Room), esc(res.Recipient), res.Fingerprint, res.Headers, esc(res.Key), res.HeaderBytes)
	if len(res.Skipped) > 0 {
		fmt.Fprintf(a.stdout, "skipped %s (cut before any audio)\n", esc(strings.Join(res.Skipped, ", ")))
	}
	return nil
}
