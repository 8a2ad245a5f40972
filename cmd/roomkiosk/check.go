package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/cmd/roomkiosk/config"
	"roomkiosk/hardware"
	"roomkiosk/hardware/board"
	"roomkiosk/hardware/checks"
	"roomkiosk/hardware/periphboard"
	"roomkiosk/internal/logging"
	"roomkiosk/internal/room"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/recorder"
	"roomkiosk/recorder/capture"
	"roomkiosk/sync/upload"
)

// checkParts are what the checks look at besides the board.
type checkParts struct {
	source   recorder.Source    // the capture device
	recorder *recorder.Recorder // the live recorder (the daemon's); nil: the mic check opens the device itself
	uploader *upload.Uploader   // nil: no storage checks (the uploader could not be made)
	extra    []checks.Check     // more checks, after the others (the bookings feed)
}

// allChecks is the one list of checks, in display order, for both the daemon
// and `roomkiosk check`.
func allChecks(cfg *config.Config, b *hardware.Board, p checkParts) []checks.Check {
	list := checks.Builtin(cfg.Checks, b)
	list = append(list,
		&recorder.MicCheck{Config: cfg.Recording, Source: p.source, Recorder: p.recorder, Occupied: func() bool {
			// People talking are not a noisy microphone: with the room
			// occupied the check judges only that audio arrives.
			present, err := b.Presence.Present()
			return err == nil && present
		}},
		&recorder.StorageCheck{Config: cfg.Recording, Recorder: p.recorder},
	)
	if p.uploader != nil {
		for _, c := range p.uploader.Checks() {
			list = append(list, c)
		}
	}
	return append(list, p.extra...)
}

// checkReport is `roomkiosk check --json`'s output.
type checkReport struct {
	Room     string             `json:"room"`
	At       time.Time          `json:"at"`
	OK       bool               `json:"ok"`       // no required check abnormal
	Blocking []string           `json:"blocking"` // required checks abnormal
	Missing  []string           `json:"missing,omitempty"`
	Results  []room.CheckResult `json:"results"`
}

// cmdCheck runs every check once without the screen and prints a table.
// Exit 0 when no required check is abnormal, 1 when one is, 2 on a config
// error. It leaves the on-air light to the daemon.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	cfg, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	// Errors only, on stderr: stdout is the table (or the JSON), which
	// already shows every fault.
	log, err := logging.New(stderr, "error")
	if err != nil {
		return exitConfig
	}
	b, err := board.Open(cfg.Hardware, log, board.InputsOnly())
	if err != nil {
		fmt.Fprintf(stderr, "roomkiosk check: %v\n", err)
		return exitConfig
	}
	defer b.Close()

	opt := checks.Options{Logger: log}
	if lg, err := checks.OpenLog(cfg.Checks.LogDir, checks.KeepDays(cfg.Checks.LogKeepDays)); err != nil {
		fmt.Fprintf(stderr, "roomkiosk check: not writing the maintenance log: %v\n", err)
	} else {
		defer lg.Close()
		opt.Maintenance = lg
	}
	parts := checkParts{source: &capture.Source{Device: cfg.Recording.Device}}
	if up, err := upload.New(cfg.Storage, cfg.Room.ID, cfg.Room.DeviceID, cfg.Recording.SpoolDir, cfg.Checks.LogDir, log, upload.WithVersion(version)); err != nil {
		fmt.Fprintf(stderr, "roomkiosk check: no storage checks: %v\n", err)
	} else {
		parts.uploader = up
	}
	if cfg.Bookings.Enabled() {
		// One fetch now, so the table says whether the feed works.
		if feed, err := bookings.New(cfg.Bookings, log, nil, bookings.WithoutCopy()); err != nil {
			fmt.Fprintf(stderr, "roomkiosk check: no bookings check: %v\n", err)
		} else {
			fctx, cancel := context.WithTimeout(ctx, cfg.Checks.Timeout.Duration)
			_ = feed.Refresh(fctx)
			cancel()
			parts.extra = append(parts.extra, feed.Check())
		}
	}
	runner := checks.NewRunner(cfg.Checks, allChecks(cfg, b, parts), opt)
	results := runner.Run(ctx, "command")

	rep := checkReport{Room: cfg.Room.ID, At: time.Now().UTC(), Results: results, Blocking: []string{}}
	for _, r := range checks.Blocking(results) {
		rep.Blocking = append(rep.Blocking, r.Name)
	}
	rep.OK = len(rep.Blocking) == 0
	rep.Missing = runner.UnknownRequired()

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "roomkiosk check: %v\n", err)
			return exitFailure
		}
	} else {
		printTable(stdout, rep)
	}
	if !rep.OK {
		return exitFailure
	}
	return exitOK
}

func printTable(w io.Writer, rep checkReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATE\tVALUE\tTHRESHOLD\tHINT")
	for _, r := range rep.Results {
		name := r.Name
		if r.Required {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, strings.ToUpper(string(r.State)), r.Value, r.Threshold, r.Hint)
	}
	tw.Flush()
	fmt.Fprintln(w, "* required: an abnormal required check puts the door Out of service")
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "required but not run by this command: %s\n", strings.Join(rep.Missing, ", "))
	}
	if rep.OK {
		fmt.Fprintf(w, "room %s: no required check abnormal\n", rep.Room)
	} else {
		fmt.Fprintf(w, "room %s: OUT OF SERVICE: required check abnormal: %s\n", rep.Room, strings.Join(rep.Blocking, ", "))
	}
}

// cmdHWProbe lists what periph's host drivers found and reads each
// configured part once. With --record DIR it saves each I2C sensor's
// traffic as a fixture the unit tests can replay (periph backend only).
func cmdHWProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hwprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	record := fs.String("record", "", "save each I2C sensor's traffic as DIR/<device>.json fixtures")
	cfg, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	if *record != "" && cfg.Hardware.Backend != "periph" {
		fmt.Fprintln(stderr, "roomkiosk hwprobe: --record needs hardware.backend = \"periph\" (there is no bus traffic to record on the simulated board)")
		return exitUsage
	}
	log, err := logging.New(stderr, "warn")
	if err != nil {
		return exitConfig
	}
	rep, err := periphboard.ProbeHost()
	fmt.Fprintln(stdout, "periph host drivers")
	printList(stdout, "loaded", rep.Loaded)
	printList(stdout, "failed", rep.Failed)
	printList(stdout, "skipped", rep.Skipped)
	printList(stdout, "gpio lines", rep.GPIO)
	printList(stdout, "i2c buses", rep.I2C)
	if err != nil {
		fmt.Fprintf(stdout, "  host init error: %v\n", err)
	}

	fmt.Fprintf(stdout, "\nconfigured parts (hardware.backend = %q)\n", cfg.Hardware.Backend)
	var readings []periphboard.Reading
	if cfg.Hardware.Backend == "periph" {
		readings = periphboard.ProbeSensors(ctx, cfg.Hardware, *record, log)
	} else {
		readings = probeBoard(ctx, cfg.Hardware, log)
	}
	failed := 0
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range readings {
		if r.Err != nil {
			failed++
			fmt.Fprintf(tw, "  %s\tERROR\t%v\n", r.Part, r.Err)
		} else {
			fmt.Fprintf(tw, "  %s\tok\t%s\n", r.Part, r.Value)
		}
	}
	tw.Flush()
	if *record != "" {
		fmt.Fprintf(stdout, "\nfixtures saved in %s (copy them to hardware/periphboard/testdata/)\n", *record)
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

func printList(w io.Writer, what string, items []string) {
	if len(items) == 0 {
		fmt.Fprintf(w, "  %-11s none\n", what+":")
		return
	}
	fmt.Fprintf(w, "  %-11s %s\n", what+":", strings.Join(items, ", "))
}

// probeBoard reads the parts of a non-periph (simulated) board.
func probeBoard(ctx context.Context, cfg hardware.Config, log zerolog.Logger) []periphboard.Reading {
	b, err := board.Open(cfg, log, board.InputsOnly())
	if err != nil {
		return []periphboard.Reading{{Part: "board", Err: err}}
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out []periphboard.Reading
	c, err := b.Climate.ReadClimate(ctx)
	out = append(out, periphboard.Reading{Part: "climate", Value: fmt.Sprintf("%.1f °C, %.0f %%RH, %.1f hPa", c.TemperatureC, c.HumidityPct, c.PressureHPa), Err: err})
	lux, err := b.Light.ReadLux(ctx)
	out = append(out, periphboard.Reading{Part: "light", Value: fmt.Sprintf("%.0f lx", lux), Err: err})
	closed, err := b.Door.Closed()
	out = append(out, periphboard.Reading{Part: "door", Value: map[bool]string{true: "closed", false: "open"}[closed], Err: err})
	present, err := b.Presence.Present()
	if err == nil {
		err = b.Presence.Alive()
	}
	out = append(out, periphboard.Reading{Part: "presence", Value: map[bool]string{true: "someone present", false: "no one detected"}[present], Err: err})
	return out
}
