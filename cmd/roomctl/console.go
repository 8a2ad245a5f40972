package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/console"
)

// console serves the archive to a browser until ctx ends.
func (a *app) console(ctx context.Context, args []string) error {
	fs := a.newFlags("console")
	var cf connFlags
	cf.register(fs)
	listen := fs.String("listen", "127.0.0.1:8070", "`address` to listen on; anything but loopback needs --tls-cert and --tls-key")
	idFile := fs.String("i", "", "age identity `file` (from roomctl keygen): decrypts consent records and audio in this process")
	certFile := fs.String("tls-cert", "", "TLS certificate `file` (PEM)")
	keyFile := fs.String("tls-key", "", "TLS private key `file` (PEM)")
	readerOpt := readerFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if *idFile == "" {
		return usagef("console: missing -i IDENTITY")
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return usagef("console: --listen %q: %v", *listen, err)
	}
	loopback := console.IsLoopback(*listen)
	useTLS := *certFile != "" || *keyFile != ""
	if useTLS && (*certFile == "" || *keyFile == "") {
		return usagef("console: --tls-cert and --tls-key go together")
	}
	if !loopback && !useTLS {
		return usagef("console: --listen %s is not a loopback address: it needs --tls-cert and --tls-key (the pages carry consent records and audio)", *listen)
	}
	reader, err := a.readerName(*readerOpt)
	if err != nil {
		return err
	}
	ids, err := readIdentities(*idFile)
	if err != nil {
		return err
	}
	c, cl, err := a.client(&cf)
	if err != nil {
		return err
	}
	opts := console.Options{
		// A reader's console reads sessions only and audits each play
		// under audit/readers/NAME/; a session not theirs says so.
		Archive:    &archive.Archive{Client: cl, Bucket: c.Bucket, Workers: 32, Reader: reader != "", Witness: reader == "", Index: reader == ""},
		Auditor:    admin.Auditor{Client: cl, Bucket: c.Bucket, Who: c.AccessKey, Reader: reader},
		Identities: ids,
		Secure:     useTLS,
		Loopback:   loopback,
		Log:        a.stderr,
		// On loopback too: any process of this machine could otherwise
		// use the console with the admin's identity.
		Token: console.NewToken(),
	}
	srv, err := console.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close()

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if useTLS {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("console: load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if useTLS {
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/?token=%s", scheme, ln.Addr(), srv.LoginToken())
	fmt.Fprintf(a.stdout, "roomctl console on %s\n", url)
	fmt.Fprintln(a.stdout, "open that URL in one browser: its login token works once (restart roomctl console for a new one); keep it private")
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("console: shut down: %w", err)
	}
	return nil
}
