// Command roomkiosk is the room appliance's daemon: session core, recorder,
// hardware and checks, sync, the local status endpoint and the control socket
// for the screen. It imports nothing that needs a display, so it and its
// subcommands run over SSH and under systemd with no X server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"roomkiosk/cmd/roomkiosk/config"
	"roomkiosk/recorder/capture"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // runtime failure, or `check` found a required check abnormal
	exitConfig  = 2 // configuration error: nothing was started
	exitUsage   = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// One P: the audio thread's callbacks into Go cost several times
	// more with idle Ps beside it (see capture.TuneRuntime).
	capture.TuneRuntime()
	// No heap profiling: nobody reads it on the appliance, and its
	// records of sampled allocation sites held about 1.4 MB.
	runtime.MemProfileRate = 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: roomkiosk [run] --config FILE      run the daemon
       roomkiosk check --config FILE [--json]   run every check once and print a table
       roomkiosk hwprobe --config FILE [--record DIR]   list and read the board's sensors
       roomkiosk version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return cmdRun(ctx, args, stdout, stderr)
	case "check":
		return cmdCheck(ctx, args, stdout, stderr)
	case "hwprobe":
		return cmdHWProbe(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "roomkiosk: unknown command %q\n%s", cmd, usage)
		return exitUsage
	}
}

// loadConfig parses --config and loads the file; on error it prints why and
// returns exitConfig.
func loadConfig(fs *flag.FlagSet, args []string, stderr io.Writer) (*config.Config, int) {
	path := fs.String("config", "/etc/roomkiosk/roomkiosk.toml", "device configuration file")
	if err := fs.Parse(args); err != nil {
		return nil, exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "roomkiosk: %v\n", err)
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, exitConfig
		}
		return nil, exitFailure
	}
	// A warning, not a refusal: a development config may be world-readable.
	if fi, err := os.Stat(*path); err == nil && fi.Mode().Perm()&0o004 != 0 && len(cfg.Counselors) > 0 {
		fmt.Fprintf(stderr, "roomkiosk: warning: %s is readable by every user (mode %#o) and holds the counselors' PIN hashes: chmod 0640, group roomkiosk\n", *path, fi.Mode().Perm())
	}
	return cfg, exitOK
}
