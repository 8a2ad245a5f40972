package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"roomkiosk/internal/durable"
	"roomkiosk/sync/admin"
)

// printList prints rows as a JSON array, [] rather than null when empty, so
// that scripts can always iterate.
func printList[T any](a *app, rows []T) error {
	if rows == nil {
		rows = []T{}
	}
	return a.printJSON(rows)
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func (a *app) bucketInit(ctx context.Context, args []string) error {
	fs := a.newFlags("bucket init")
	var cf connFlags
	cf.register(fs)
	days := fs.Uint("retention-days", admin.DefaultRetentionDays, "default GOVERNANCE retention of new objects, in days")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if *days == 0 {
		return usagef("bucket init: --retention-days must be at least 1")
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	st, err := admin.InitBucket(ctx, cl, c.Bucket, *days)
	if err != nil {
		return err
	}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	if _, err := au.Write(ctx, admin.AuditRecord{Action: "bucket-init", Detail: fmt.Sprintf("retention %s %d days", st.RetentionMode, st.RetentionDays)}); err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(st)
	}
	verb := "checked"
	if st.Created {
		verb = "created"
	}
	fmt.Fprintf(a.stdout, "bucket %s %s: versioning %s, object lock %v, default retention %s %d days\n",
		st.Bucket, verb, st.Versioning, st.ObjectLock, st.RetentionMode, st.RetentionDays)
	return nil
}

// provision prints a room device's [storage] config on stdout (alone, so
// `provision 101 --apply > storage.toml` works) and its policy on stderr or
// to --policy-out; with --apply it also creates the device's user through mc
// and writes its credentials. A room that has device users already gets
// new keys and the old ones are revoked (rotation).
func (a *app) provision(ctx context.Context, args []string) error {
	fs := a.newFlags("provision")
	var cf connFlags
	cf.register(fs)
	apply := fs.Bool("apply", false, "create the device user and policy on the server (with mc) and write the credentials file")
	credOut := fs.String("credentials-out", "", "with --apply: write the device's credentials to this `file` (mode 0600, never overwritten)")
	credPath := fs.String("credentials-path", "/etc/roomkiosk/credentials.toml", "where the credentials file will live on the device (for the printed config)")
	devEndpoint := fs.String("device-endpoint", "", "the server URL as the kiosk reaches it (default: --endpoint)")
	mcPath := fs.String("mc", "", "the mc client (default: mc on PATH; env ROOMCTL_MC)")
	policyOut := fs.String("policy-out", "", "write the device policy to this `file` instead of standard error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "ROOM"); err != nil {
		return err
	}
	room := pos[0]
	if err := admin.ValidRoomID(room); err != nil {
		return usagef("provision: %v", err)
	}
	if *apply && *credOut == "" {
		return usagef("provision: --apply needs --credentials-out FILE (the device's keys are written there)")
	}
	if !*apply && *credOut != "" {
		return usagef("provision: --credentials-out only makes sense with --apply")
	}
	c, err := a.resolve(&cf)
	if err != nil {
		return err
	}
	if !*apply {
		// Printing needs no credentials: only where and which bucket.
		var missing []string
		if c.Endpoint == "" && *devEndpoint == "" {
			missing = append(missing, "endpoint (--endpoint or ROOMCTL_ENDPOINT)")
		}
		if c.Bucket == "" {
			missing = append(missing, "bucket (--bucket or ROOMCTL_BUCKET)")
		}
		if len(missing) > 0 {
			return usagef("provision: missing %s", strings.Join(missing, ", "))
		}
	} else if err := c.Validate(); err != nil {
		return usagef("provision: %v", err)
	}
	if *devEndpoint == "" {
		*devEndpoint = c.Endpoint
	}
	policy, err := admin.DevicePolicy(c.Bucket, room)
	if err != nil {
		return err
	}
	caOnDevice := ""
	if c.CAFile != "" {
		caOnDevice = "/etc/roomkiosk/clinic-ca.pem"
	}
	if *policyOut != "" {
		if err := durable.WriteFile(*policyOut, policy, durable.Options{Perm: 0o644}); err != nil {
			return fmt.Errorf("provision %s: write policy: %w", room, err)
		}
		fmt.Fprintf(a.stderr, "wrote device policy %s to %s\n", admin.PolicyName(c.Bucket, room), *policyOut)
	} else {
		fmt.Fprintf(a.stderr, "# Device policy %s (PutObject under %s only):\n%s\n", admin.PolicyName(c.Bucket, room), admin.RoomPrefix(room), policy)
	}
	fmt.Fprint(a.stdout, admin.DeviceStorageTOML(room, *devEndpoint, c.Bucket, *credPath, caOnDevice))
	if !*apply {
		fmt.Fprintf(a.stderr, "nothing changed on the server: run again with --apply --credentials-out FILE to create the device's user\n")
		return nil
	}

	creds := admin.NewDeviceCredentials()
	if err := admin.WriteCredentialsFile(*credOut, room, creds); err != nil {
		return fmt.Errorf("provision %s: %w", room, err)
	}
	mc := *mcPath
	if mc == "" {
		mc = a.getenv("ROOMCTL_MC")
	}
	if mc == "" {
		if p, err := exec.LookPath("mc"); err == nil {
			mc = p
		}
	}
	if mc == "" {
		cmds, err := admin.MCCommands(c, room, creds, *credOut)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "\n# mc is not on PATH: run these commands where it is installed\n# (the device secret is read from %s):\n%s", *credOut, cmds)
		fmt.Fprintf(a.stderr, "wrote %s; the device user is NOT created yet: run the mc commands above\n", *credOut)
		return nil
	}
	m := admin.MC{Path: mc, Conn: c}
	old, err := m.DeviceUsers(ctx, room)
	if err != nil {
		os.Remove(*credOut)
		return fmt.Errorf("provision %s: %w", room, err)
	}
	if err := m.ProvisionRoom(ctx, room, creds); err != nil {
		// The keys were never accepted by the server: do not leave a
		// credentials file that looks usable.
		os.Remove(*credOut)
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	if _, err := au.Write(ctx, admin.AuditRecord{Action: "provision", Room: room, Detail: "device user " + creds.AccessKey + ", policy " + admin.PolicyName(c.Bucket, room)}); err != nil {
		return errors.Join(fmt.Errorf("provision %s: device user created, but", room), err)
	}
	fmt.Fprintf(a.stderr, "created device user %s with policy %s; wrote %s (copy it to the kiosk at %s)\n",
		creds.AccessKey, admin.PolicyName(c.Bucket, room), *credOut, *credPath)
	if len(old) == 0 {
		return nil
	}
	// Rotation: the room had credentials; the new ones work, so the old
	// ones go now (a lost or stolen kiosk keeps nothing that writes).
	revoked, rerr := m.RevokeRoom(ctx, room, creds.AccessKey)
	rec := admin.AuditRecord{Action: "rotate", Room: room, Detail: "new device user " + creds.AccessKey + "; disabled " + strings.Join(revoked, ", ")}
	if rerr != nil {
		rec.Result = rerr.Error()
	}
	if _, err := au.Write(ctx, rec); err != nil {
		return errors.Join(rerr, err)
	}
	if rerr != nil {
		return fmt.Errorf("provision %s: new keys made, but the old ones are not all disabled: %w", room, rerr)
	}
	fmt.Fprintf(a.stderr, "rotated: room %s had device credentials; disabled the old device user(s) %s\n", room, strings.Join(revoked, ", "))
	return nil
}

// revoke cuts a room's device off: every device user with the room's policy
// loses it and is disabled, through mc; audited.
func (a *app) revoke(ctx context.Context, args []string) error {
	fs := a.newFlags("revoke")
	var cf connFlags
	cf.register(fs)
	mcPath := fs.String("mc", "", "the mc client (default: mc on PATH; env ROOMCTL_MC)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "ROOM"); err != nil {
		return err
	}
	room := pos[0]
	if err := admin.ValidRoomID(room); err != nil {
		return usagef("revoke: %v", err)
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	mc := *mcPath
	if mc == "" {
		mc = a.getenv("ROOMCTL_MC")
	}
	if mc == "" {
		if mc, err = exec.LookPath("mc"); err != nil {
			return fmt.Errorf("revoke %s: mc is not on PATH (install it or give --mc): %w", room, err)
		}
	}
	revoked, rerr := (admin.MC{Path: mc, Conn: c}).RevokeRoom(ctx, room, "")
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	rec := admin.AuditRecord{Action: "revoke", Room: room, Detail: "disabled " + strings.Join(revoked, ", ")}
	if rerr != nil {
		rec.Result = rerr.Error()
	}
	if _, err := au.Write(ctx, rec); err != nil {
		return errors.Join(rerr, err)
	}
	if rerr != nil {
		return rerr
	}
	if len(revoked) == 0 {
		fmt.Fprintf(a.stderr, "room %s has no enabled device user: nothing to revoke\n", room)
		return nil
	}
	fmt.Fprintf(a.stdout, "revoked room %s: disabled device user(s) %s; its kiosk can no longer write (provision %s --apply makes new keys)\n",
		room, strings.Join(revoked, ", "), room)
	return nil
}

// audit lists the audit records: the admin side's own accountability.
func (a *app) audit(ctx context.Context, args []string) error {
	fs := a.newFlags("audit")
	var cf connFlags
	cf.register(fs)
	since := fs.String("since", "", "only records from this date (2006-01-02, UTC) or time (RFC 3339) on")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	from, err := parseDate("since", *since, false)
	if err != nil {
		return err
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	recs, err := admin.ReadAuditSince(ctx, cl, c.Bucket, from)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if *asJSON {
		return printList(a, recs)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT (UTC)\tWHO\tHOST\tACTION\tROOM\tSESSION\tRESULT")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.UTC().Format("2006-01-02 15:04:05"), esc(r.Who), esc(r.Host), esc(r.Action), esc(r.Room), esc(r.Session), esc(r.Result))
	}
	return tw.Flush()
}
