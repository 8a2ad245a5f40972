// Command roomkiosk-screen is the touchscreen: it renders the daemon's
// snapshots and sends the user's intents over the local control socket. It
// holds no state that matters: killed and restarted, it shows the same
// scene, because the scene comes from the daemon's snapshot.
//
// It imports ebiten, which needs an X display even to print its usage.
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

	"roomkiosk/kiosk/config"
	"roomkiosk/kiosk/control"
	"roomkiosk/kiosk/logging"
	"roomkiosk/kiosk/room"
	"roomkiosk/kiosk/screen"
	"roomkiosk/kiosk/ui"
)

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
	socket := fs.String("socket", "", "the daemon's control socket (default: control.socket from --config)")
	cfgPath := fs.String("config", "/etc/roomkiosk/roomkiosk.toml", "device configuration file, read for control.socket when --socket is not given")
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
	path := *socket
	if path == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "roomkiosk-screen: %v\n", err)
			return exitConfig
		}
		path = cfg.Control.Socket
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
	if err := serve(ctx, log, path, *uiListen, *fullscreen, fonts); err != nil {
		log.Error().Err(err).Msg("roomkiosk-screen failed")
		return exitFailure
	}
	return exitOK
}

func serve(ctx context.Context, log zerolog.Logger, socket, uiListen string, fullscreen bool, fonts *ui.Fonts) error {
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
	g := screen.New(screen.Options{Fonts: fonts, Link: link, Views: views, Version: version, Fullscreen: fullscreen, Log: log,
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
