package main

import (
	"flag"
	"fmt"
	"os"
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
type connFlags struct {
	c admin.Conn
	// secretFlag is --secret-key, kept only to refuse it: a secret on the
	// command line shows in ps to every user of the machine.
	secretFlag string
	secretFile string
}

func (cf *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.c.Endpoint, "endpoint", "", "server URL (env ROOMCTL_ENDPOINT)")
	fs.StringVar(&cf.c.AccessKey, "access-key", "", "admin access key (env ROOMCTL_ACCESS_KEY)")
	fs.StringVar(&cf.secretFlag, "secret-key", "", "not accepted (it would show in ps): use ROOMCTL_SECRET_KEY or --secret-key-file")
	fs.StringVar(&cf.secretFile, "secret-key-file", "", "`file` holding the admin secret key (env ROOMCTL_SECRET_KEY_FILE; or ROOMCTL_SECRET_KEY)")
	fs.StringVar(&cf.c.Bucket, "bucket", "", "bucket (env ROOMCTL_BUCKET)")
	fs.StringVar(&cf.c.CAFile, "ca", "", "extra CA certificate file, PEM (env ROOMCTL_CA)")
}

// resolve fills the connection from flags, then the environment, and reads
// the secret key file. The secret key is never taken from a flag.
func (a *app) resolve(cf *connFlags) (admin.Conn, error) {
	if cf.secretFlag != "" {
		return cf.c, usagef("--secret-key is not accepted: a secret on the command line shows in ps to every user of this machine; set ROOMCTL_SECRET_KEY or use --secret-key-file FILE")
	}
	c := cf.c.FromEnv(a.getenv)
	file := cf.secretFile
	if file == "" {
		file = a.getenv("ROOMCTL_SECRET_KEY_FILE")
	}
	if file != "" && cf.secretFile == "" && c.SecretKey != "" {
		file = "" // ROOMCTL_SECRET_KEY is set too: the variable wins over the variable's file
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("read secret key file: %w", err)
		}
		c.SecretKey = strings.TrimSpace(string(b))
		if c.SecretKey == "" {
			return c, fmt.Errorf("secret key file %s is empty", file)
		}
	}
	if w := plainHTTPWarning(c.Endpoint); w != "" {
		fmt.Fprintln(a.stderr, w)
	}
	return c, nil
}

// conn resolves flags and environment; a missing setting is a usage error
// that names the flag and the variable.
func (a *app) conn(cf *connFlags) (admin.Conn, error) {
	c, err := a.resolve(cf)
	if err != nil {
		return c, err
	}
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
