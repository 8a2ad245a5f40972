// Command roomctl is the admin tool: keys, PIN hashes, bucket and room
// provisioning, sessions, pulls and fleet status. Pure Go (CGO_ENABLED=0),
// so admins build and run it on their own laptops.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `roomctl: the roomkiosk admin tool

usage:
  roomctl keygen [-o FILE]                 make an age identity (admins only) and print its recipient
  roomctl pin-hash                         read a counselor PIN (6 digits recommended) and print its hash for the device config
                                           (asks twice on a terminal; otherwise reads one line from
                                           standard input: echo 123456 | roomctl pin-hash)
  roomctl bucket init [--retention-days N] make the bucket: versioning, object lock, governance retention
  roomctl provision ROOM [--apply] [--credentials-out FILE] [--credentials-path PATH] [--policy-out FILE]
                                           print the device's [storage] config on stdout (the policy on
                                           stderr or to --policy-out); --apply creates its write-only user,
                                           and for a room that has one already rotates it (old keys disabled)
  roomctl revoke ROOM                      disable a room's device credentials (a stolen kiosk)
  roomctl provision-reader NAME [--apply --secret-out FILE]
                                           read-only credentials for a counselor or supervisor (NAME a
                                           pseudonym): list and read sessions, write only their audit
                                           records; prints the ROOMCTL_* settings they use
  roomctl sessions [--room R] [--since DATE] [--until DATE] [-i IDENTITY] [--json]
                                           list archived sessions; with -i only those the identity
                                           opens, and as whom (a reader must give -i)
  roomctl pull SESSION -i IDENTITY -o OUT.wav [--room R] [--original]
                                           download, verify, decrypt and join a session into one WAV;
                                           a tampered session only with --original (its genuine records)
  roomctl grant SESSION --to age1... -i IDENTITY [--room R]
                                           give a session to one more recipient (escrow identity needed):
                                           its segments' age headers are re-wrapped, the audio untouched
  roomctl grant SESSION --revoke --to age1... [--room R]
                                           remove that grant; the next pull with it is refused
  roomctl grant SESSION --list [--room R]  a session's grants
  roomctl status [--json]                  every room's door, recording, checks, backlog and last seen
  roomctl deletions apply [--dry-run] [--json]
                                           carry out the deletion requests the sessions back; list the
                                           suspicious ones
  roomctl deletions apply --session ID --room R [--confirm]
                                           carry out one request; a suspicious one needs --confirm
  roomctl deletions request SESSION --reason CODE [--room R]
                                           an admin asks to erase a session (a client asked after it):
                                           roomctl dispose carries it out, certified, unless it is held
  roomctl retention set FILE               store the practice's retention classes and each room's class
                                           (TOML: default, [classes], [rooms]); classes may only grow
  roomctl retention show [--json]          print the retention policy
  roomctl retention apply [--room R] [--since DATE | --last-days N] [--dry-run]
                                           extend the server's retention of every session to its class
  roomctl retention extend SESSION --until DATE --reason CODE [--room R]
                                           keep one session longer (never shorter than its class)
  roomctl hold set|clear SESSION --reason CODE [--room R]
                                           put or lift a legal hold on every version of a session
  roomctl dispose [--dry-run] [--room R] [--session ID] [--limit N] [--json]
                                           remove every version of every session whose retention ended
                                           (or whose erasure was requested) and that is not held, with a
                                           certificate under audit/certificates/; safe to kill and re-run
  roomctl audit [--since DATE] [--json]    who pulled, deleted or provisioned what, and when
  roomctl console -i IDENTITY [--listen 127.0.0.1:8070] [--tls-cert FILE --tls-key FILE]
                                           the fleet, room histories, sessions and playback in a browser
  roomctl version

server commands take the admin connection from flags or the environment:
  --endpoint URL      ROOMCTL_ENDPOINT    e.g. https://minio.clinic.lan:9000
  --access-key KEY    ROOMCTL_ACCESS_KEY
  (secret key)        ROOMCTL_SECRET_KEY  or --secret-key-file FILE (ROOMCTL_SECRET_KEY_FILE);
                                          never a flag: flags show in ps
  --bucket NAME       ROOMCTL_BUCKET
  --ca FILE           ROOMCTL_CA          extra CA certificate (PEM) for TLS

a counselor or supervisor (a reader) runs sessions, pull and console with the
credentials from provision-reader and --reader NAME (ROOMCTL_READER): read-only,
each pull audited under audit/readers/NAME/

exit codes: 0 ok, 1 failure, 2 usage
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command line, testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.run(ctx, args)
}

// app carries what commands read and write, so tests can replace stdin and
// the environment.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError makes the command exit 2 after its message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintln(a.stdout, version)
		return exitOK
	case "keygen":
		err = a.keygen(rest)
	case "pin-hash":
		err = a.pinHash(rest)
	case "bucket":
		if len(rest) == 0 || rest[0] != "init" {
			err = usagef("bucket: want `roomctl bucket init [--retention-days N]`")
			break
		}
		err = a.bucketInit(ctx, rest[1:])
	case "provision":
		err = a.provision(ctx, rest)
	case "sessions":
		err = a.sessions(ctx, rest)
	case "pull":
		err = a.pull(ctx, rest)
	case "status":
		err = a.status(ctx, rest)
	case "audit":
		err = a.audit(ctx, rest)
	case "console":
		err = a.console(ctx, rest)
	case "revoke":
		err = a.revoke(ctx, rest)
	case "grant":
		err = a.grant(ctx, rest)
	case "provision-reader":
		err = a.provisionReader(ctx, rest)
	case "deletions":
		switch {
		case len(rest) > 0 && rest[0] == "apply":
			err = a.deletionsApply(ctx, rest[1:])
		case len(rest) > 0 && rest[0] == "request":
			err = a.deletionsRequest(ctx, rest[1:])
		default:
			err = usagef("deletions: want `roomctl deletions apply` or `roomctl deletions request SESSION --reason CODE`")
		}
	case "hold":
		err = a.hold(ctx, rest)
	case "dispose":
		err = a.dispose(ctx, rest)
	case "retention":
		err = a.retention(ctx, rest)
	default:
		err = usagef("unknown command %q (roomctl help lists them)", cmd)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "roomctl: %s\n", esc(err.Error()))
		return exitUsage
	default:
		// Errors quote keys and records from the bucket: escaped.
		fmt.Fprintf(a.stderr, "roomctl: %s\n", esc(err.Error()))
		return exitFailure
	}
}
