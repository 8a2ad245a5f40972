package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/admin"
)

// newFlags makes a command's flag set; its errors print to stderr and
// become usage errors (exit 2).
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("roomctl "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	return fs
}

// parse parses flags and positional arguments in any order (`pull SESSION
// -i key -o out.wav` as well as `pull -i key -o out.wav SESSION`), which the
// standard flag package alone does not.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, pos []string, names ...string) error {
	if len(pos) != len(names) {
		return usagef("%s: want %d argument(s) %s, got %d (%s)", fs.Name(), len(names), strings.Join(names, " "), len(pos), strings.Join(pos, " "))
	}
	return nil
}

// connFlags are the admin connection flags every server command takes.
type connFlags struct{ c admin.Conn }

func (cf *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.c.Endpoint, "endpoint", "", "server URL (env ROOMCTL_ENDPOINT)")
	fs.StringVar(&cf.c.AccessKey, "access-key", "", "admin access key (env ROOMCTL_ACCESS_KEY)")
	fs.StringVar(&cf.c.SecretKey, "secret-key", "", "admin secret key (env ROOMCTL_SECRET_KEY)")
	fs.StringVar(&cf.c.Bucket, "bucket", "", "bucket (env ROOMCTL_BUCKET)")
	fs.StringVar(&cf.c.CAFile, "ca", "", "extra CA certificate file, PEM (env ROOMCTL_CA)")
}

// conn resolves flags and environment; a missing setting is a usage error
// that names the flag and the variable.
func (a *app) conn(cf *connFlags) (admin.Conn, error) {
	c := cf.c.FromEnv(a.getenv)
	if err := c.Validate(); err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

func (a *app) client(cf *connFlags) (admin.Conn, *minio.Client, error) {
	c, err := a.conn(cf)
	if err != nil {
		return c, nil, err
	}
	cl, err := c.Client()
	if err != nil {
		return c, nil, fmt.Errorf("connect: %w", err)
	}
	return c, cl, nil
}
