package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/layout"
)

// readerFlag registers --reader on a command a reader may run (sessions,
// pull, console).
func readerFlag(fs *flag.FlagSet) *string {
	return fs.String("reader", "", "run as this reader (credentials from `roomctl provision-reader`; env ROOMCTL_READER): read-only, audited under audit/readers/NAME/")
}

// readerName resolves --reader, then ROOMCTL_READER; "" is an admin.
func (a *app) readerName(flagValue string) (string, error) {
	name := flagValue
	if name == "" {
		name = a.getenv("ROOMCTL_READER")
	}
	if name == "" {
		return "", nil
	}
	if err := layout.ValidReaderName(name); err != nil {
		return "", usagef("--reader: %v", err)
	}
	return name, nil
}

// provisionReader makes a reader's read-only credentials: a counselor or a
// supervisor lists, pulls and plays the sessions their own identity opens,
// and writes nothing but their audit records. Without --apply it prints the
// policy and changes nothing.
func (a *app) provisionReader(ctx context.Context, args []string) error {
	fs := a.newFlags("provision-reader")
	var cf connFlags
	cf.register(fs)
	apply := fs.Bool("apply", false, "create the reader's user and policy on the server (with mc) and write its secret key file")
	secretOut := fs.String("secret-out", "", "with --apply: write the reader's secret key to this `file` (mode 0600, never overwritten)")
	mcPath := fs.String("mc", "", "the mc client (default: mc on PATH; env ROOMCTL_MC)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "NAME"); err != nil {
		return err
	}
	name := pos[0]
	if err := layout.ValidReaderName(name); err != nil {
		return usagef("provision-reader: %v (a pseudonym, such as the counselor id: no names)", err)
	}
	if *apply && *secretOut == "" {
		return usagef("provision-reader: --apply needs --secret-out FILE (the reader's secret key is written there)")
	}
	if !*apply && *secretOut != "" {
		return usagef("provision-reader: --secret-out only makes sense with --apply")
	}
	c, err := a.resolve(&cf)
	if err != nil {
		return err
	}
	if c.Bucket == "" {
		return usagef("provision-reader: missing bucket (--bucket or ROOMCTL_BUCKET)")
	}
	policy, err := admin.ReaderPolicy(c.Bucket, name)
	if err != nil {
		return err
	}
	pn := admin.ReaderPolicyName(c.Bucket, name)
	fmt.Fprintf(a.stderr, "# Reader policy %s (list and read sessions and grants, write only under %s):\n%s\n", pn, layout.ReaderAuditPrefix(name), policy)
	if !*apply {
		fmt.Fprintf(a.stderr, "nothing changed on the server: run again with --apply --secret-out FILE to create the reader's user\n")
		return nil
	}
	if err := c.Validate(); err != nil {
		return usagef("provision-reader: %v", err)
	}
	mc := *mcPath
	if mc == "" {
		mc = a.getenv("ROOMCTL_MC")
	}
	if mc == "" {
		if mc, err = exec.LookPath("mc"); err != nil {
			return fmt.Errorf("provision-reader %s: mc is not on PATH (install it or give --mc): %w", name, err)
		}
	}
	creds := admin.NewDeviceCredentials()
	if err := admin.WriteReaderSecret(*secretOut, creds); err != nil {
		return fmt.Errorf("provision-reader %s: %w", name, err)
	}
	m := admin.MC{Path: mc, Conn: c}
	old, err := m.RevokeReader(ctx, name, "")
	if err != nil {
		os.Remove(*secretOut)
		return err
	}
	if err := m.ProvisionReader(ctx, name, creds); err != nil {
		os.Remove(*secretOut)
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	au := admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey}
	detail := "reader user " + creds.AccessKey + ", policy " + pn
	if len(old) > 0 {
		detail += fmt.Sprintf("; disabled the reader's earlier users %v", old)
	}
	if _, err := au.Write(ctx, admin.AuditRecord{Action: "provision-reader", Detail: detail}); err != nil {
		return errors.Join(fmt.Errorf("provision-reader %s: reader user created, but", name), err)
	}
	abs, _ := filepath.Abs(*secretOut)
	fmt.Fprint(a.stdout, admin.ReaderEnv(c.Endpoint, c.Bucket, name, creds.AccessKey, abs, c.CAFile))
	fmt.Fprintf(a.stderr, "created reader user %s with policy %s; wrote %s: hand the file and the lines above to the reader, who adds their own identity (-i)\n",
		creds.AccessKey, pn, *secretOut)
	return nil
}
