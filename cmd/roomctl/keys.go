package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/term"

	"roomkiosk/internal/durable"
	"roomkiosk/kiosk/pin"
)

// keygen makes an age X25519 identity. With -o the file is created with
// mode 0600 and never overwritten (losing the admin key loses the archive);
// without it the identity goes to stdout, as age-keygen does.
func (a *app) keygen(args []string) error {
	fs := a.newFlags("keygen")
	out := fs.String("o", "", "write the identity to this `file` (mode 0600; never overwritten)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n# roomkiosk admin identity: keep it offline and backed up; never put it on a kiosk\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if *out == "" {
		if _, err := io.WriteString(a.stdout, content); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		fmt.Fprintf(a.stderr, "Public key: %s\n", id.Recipient())
		return nil
	}
	if err := writeNew(*out, []byte(content)); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(a.stdout, "%s\n", id.Recipient())
	fmt.Fprintf(a.stderr, "wrote identity %s; put the recipient above in each kiosk's [encryption] recipients\n", *out)
	return nil
}

// writeNew creates path with mode 0600, refusing to replace a file.
func writeNew(path string, b []byte) error {
	err := durable.WriteNew(path, b, durable.Options{Perm: 0o600})
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists already: refusing to overwrite it", path)
	}
	return err
}

// pinHash reads a PIN (without echo, twice, on a terminal; one line from a
// pipe) and prints its hash for [[counselors]] pin_hash.
func (a *app) pinHash(args []string) error {
	fs := a.newFlags("pin-hash")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	var p string
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(a.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(a.stderr)
			return string(b), err
		}
		first, err := read(fmt.Sprintf("PIN (%d digits recommended; 4 to 8): ", pin.RecommendedDigits))
		if err != nil {
			return fmt.Errorf("pin-hash: read pin: %w", err)
		}
		if err := pin.Validate(first); err != nil {
			return fmt.Errorf("pin-hash: %w", err)
		}
		again, err := read("PIN again: ")
		if err != nil {
			return fmt.Errorf("pin-hash: read pin: %w", err)
		}
		if first != again {
			return errors.New("pin-hash: the two PINs differ")
		}
		p = first
	} else {
		line, err := bufio.NewReader(io.LimitReader(a.stdin, 1024)).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return fmt.Errorf("pin-hash: read pin from standard input: %w", err)
		}
		p = strings.TrimRight(line, "\r\n")
	}
	h, err := pin.Hash(p)
	if err != nil {
		return fmt.Errorf("pin-hash: %w", err)
	}
	fmt.Fprintln(a.stdout, h)
	if len(p) < pin.RecommendedDigits {
		// Accepted (some clinics need short PINs), but the admin should
		// know what a copied hash costs an attacker.
		n := 1
		for range len(p) {
			n *= 10
		}
		fmt.Fprintf(a.stderr, "warning: a %d-digit PIN has only %d possible values: anyone holding its hash can try them all offline in minutes to hours; %d digits are recommended\n",
			len(p), n, pin.RecommendedDigits)
	}
	return nil
}
