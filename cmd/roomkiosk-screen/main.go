// Command roomkiosk-screen is the touchscreen: it renders the daemon's
// snapshots and sends the user's intents over the local control socket. It
// holds no state that matters: killed and restarted, it shows the same
// scene, because the scene comes from the daemon's snapshot.
//
// It imports ebiten, which needs an X display even to print its usage.
//
// It takes its few settings from flags and never reads the device config:
// that file holds the counselors' PIN hashes, and the screen's user must not
// be able to read anything secret. It links neither the recorder, the sync
// packages, minio-go nor age (the dependency test in cmd/ says so).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/logging"
	"roomkiosk/internal/room"
	"roomkiosk/kiosk/control"
	"roomkiosk/kiosk/screen"
	"roomkiosk/kiosk/ui"
)

// DefaultSocket is where the daemon's control socket is unless the device
// config moves it (control.socket).
const DefaultSocket = "/run/roomkiosk/control.sock"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, as the daemon's.
const (
	exitOK      = 0
	exitFailure = 1
	exitConfig  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roomkiosk-screen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", DefaultSocket, "the daemon's control socket (the device config's control.socket)")
	cfgPath := fs.String("config", "", "no longer read: the screen takes --socket instead (the device config holds PIN hashes)")
	language := fs.String("language", "en", "language shown until the daemon's first snapshot (en or zh)")
	uiListen := fs.String("ui-listen", "", "loopback address for the read-only /ui endpoint, e.g. 127.0.0.1:8090 (off when empty)")
	fullscreen := fs.Bool("fullscreen", false, "fill the display and hide the pointer (the kiosk); otherwise an 800x480 window")
	cjkFont := fs.String("cjk-font", ui.DefaultCJKFont, "CJK font file for Chinese text (Debian: fonts-wqy-microhei)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *showVersion {
		fmt.Fprintln(stdout, version)
		return exitOK
	}
	log, err := logging.New(stdout, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "roomkiosk-screen: %v\n", err)
		return exitConfig
	}
	if *cfgPath != "" {
		fmt.Fprintf(stderr, "roomkiosk-screen: --config: the screen does not read the device config (it holds the counselors' PIN hashes); give the control socket with --socket\n")
		return exitConfig
	}
	if *socket == "" {
		fmt.Fprintf(stderr, "roomkiosk-screen: --socket: required\n")
		return exitConfig
	}
	if !ui.Supported(*language) {
		fmt.Fprintf(stderr, "roomkiosk-screen: --language: %q is not a language of the screen (en, zh)\n", *language)
		return exitConfig
	}
	if *uiListen != "" {
		if err := checkLoopback(*uiListen); err != nil {
			fmt.Fprintf(stderr, "roomkiosk-screen: --ui-listen: %v\n", err)
			return exitConfig
		}
	}
	fonts, err := ui.LoadFonts(*cjkFont)
	if err != nil {
		fmt.Fprintf(stderr, "roomkiosk-screen: %v\n", err)
		return exitConfig
	}
	if err := serve(ctx, log, *socket, *uiListen, *fullscreen, *language, fonts); err != nil {
		log.Error().Err(err).Msg("roomkiosk-screen failed")
		return exitFailure
	}
	return exitOK
}

func serve(ctx context.Context, log zerolog.Logger, socket, uiListen string, fullscreen bool, language string, fonts *ui.Fonts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	views := &ui.ViewServer{}
	if uiListen != "" {
		l, err := net.Listen("tcp", uiListen)
		if err != nil {
			return fmt.Errorf("listen for /ui: %w", err)
		}
		srv := &http.Server{Handler: views, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		log.Info().Str("addr", l.Addr().String()).Msg("/ui endpoint listening")
	}
	link := ui.NewLink(func(ctx context.Context) (ui.Conn, error) {
		c, err := control.Dial(ctx, socket)
		if err != nil {
			return nil, err
		}
		return conn{c}, nil
	}, screen.Wake)
	go link.Run(ctx)
	log.Info().Str("socket", socket).Str("version", version).Msg("roomkiosk-screen starting")
	g := screen.New(screen.Options{Fonts: fonts, Link: link, Views: views, Version: version, Fullscreen: fullscreen, Language: language, Log: log,
		DisplayLost: func() {
			log.Error().Int("exit_code", screen.ExitDisplayLost).Msg("roomkiosk-screen stopped: the X display went away")
		}})
	if err := g.Run(ctx); err != nil {
		return err
	}
	// One line says why the screen ends (a signal, or its window closed).
	why := "window closed"
	if ctx.Err() != nil {
		why = "signal"
	}
	log.Info().Str("why", why).Msg("roomkiosk-screen stopped")
	return nil
}

// conn adapts *control.Client to ui.Conn.
type conn struct{ c *control.Client }

func (c conn) Snapshots() <-chan room.Snapshot                { return c.c.Snapshots() }
func (c conn) Send(ctx context.Context, in room.Intent) error { return c.c.Send(ctx, in) }
func (c conn) Close()                                         { _ = c.c.Close() }

// checkLoopback refuses anything but a loopback host:port: /ui is local only.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New(addr + " is not a loopback address (the endpoint is local only)")
	}
	return nil
}
