package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/cmd/roomkiosk/config"
	"roomkiosk/hardware"
	"roomkiosk/hardware/board"
	"roomkiosk/hardware/checks"
	"roomkiosk/internal/logging"
	"roomkiosk/internal/room"
	"roomkiosk/internal/sdnotify"
	"roomkiosk/kiosk/backlight"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/kiosk/control"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/statusapi"
	"roomkiosk/recorder"
	"roomkiosk/recorder/capture"
	"roomkiosk/sync/upload"
)

// cmdRun is the daemon: it wires the session core to the recorder, the board
// and its checks, the uploader, the control socket and the status endpoint,
// and runs until SIGINT/SIGTERM.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	log, err := logging.New(stdout, cfg.Log.Level)
	if err != nil {
		fmt.Fprintf(stderr, "roomkiosk: %v\n", err)
		return exitConfig
	}
	log = log.With().Str("room", cfg.Room.ID).Logger()
	if err := runDaemon(ctx, cfg, log); err != nil {
		log.Error().Err(err).Msg("roomkiosk stopped on error")
		var ce *config.Error
		if errors.As(err, &ce) {
			return exitConfig
		}
		return exitFailure
	}
	log.Info().Msg("roomkiosk stopped")
	return exitOK
}

// daemon holds the parts so that shutdown can release them in order.
type daemon struct {
	log      zerolog.Logger
	board    *hardware.Board
	mlog     *checks.Log
	uploader *upload.Uploader
	recorder *recorder.Recorder
	runner   *checks.Runner
	book     *checks.Book // maintenance entries and problem reports, from the maintenance log
	core     *session.Core
}

func runDaemon(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &daemon{log: log}
	log.Info().Str("version", version).Str("backend", cfg.Hardware.Backend).Msg("roomkiosk starting")

	recipients, err := cfg.Encryption.ParsedRecipients()
	if err != nil {
		return &config.Error{File: "encryption", Err: err}
	}
	if d.board, err = board.Open(cfg.Hardware, log); err != nil {
		return fmt.Errorf("open board: %w", err)
	}
	defer d.board.Close()
	if d.mlog, err = checks.OpenLog(cfg.Checks.LogDir, checks.KeepDays(cfg.Checks.LogKeepDays)); err != nil {
		return fmt.Errorf("open maintenance log: %w", err)
	}
	defer d.mlog.Close()

	d.uploader, err = upload.New(cfg.Storage, cfg.Room.ID, cfg.Room.DeviceID, cfg.Recording.SpoolDir, cfg.Checks.LogDir, log, upload.WithVersion(version), upload.WithRetentionClass(cfg.Retention.Class))
	if err != nil {
		return fmt.Errorf("start uploader: %w", err)
	}

	// The core is made after the recorder and the runner, which report to
	// it from their own goroutines; a report before it exists is dropped
	// (the core asks for fresh checks and starts the recorder itself).
	var corePtr atomic.Pointer[session.Core]
	src := &capture.Source{Device: cfg.Recording.Device}
	d.recorder, err = recorder.New(recorder.Options{
		Config: cfg.Recording, Recipients: recipients, RoomID: cfg.Room.ID, DeviceID: cfg.Room.DeviceID,
		RetentionClass: cfg.Retention.Class, Source: src, Uploader: d.uploader, Log: log,
		OnStatus: func(st room.RecorderStatus) { corePtr.Load().RecorderChanged(st) },
	})
	if err != nil {
		return fmt.Errorf("start recorder: %w", err)
	}
	defer d.recorder.Close()

	// The door view (bookings, backlight) is made after the core; their
	// reports before it exists have nothing to refresh.
	var viewPtr atomic.Pointer[doorView]
	changed := func() {
		if v := viewPtr.Load(); v != nil {
			v.Changed()
		}
	}
	parts := checkParts{source: src, recorder: d.recorder, uploader: d.uploader}
	var feed *bookings.Feed
	if cfg.Bookings.Enabled() {
		// The runner is made below; the feed's first fetch runs after it.
		rerun := func() {
			if d.runner != nil {
				d.runner.RunChecks("bookings")
			}
		}
		if feed, err = bookings.New(cfg.Bookings, log, changed, bookings.OnHealthChange(rerun)); err != nil {
			return &config.Error{File: "bookings", Err: err}
		}
		parts.extra = append(parts.extra, feed.Check())
	}
	light := backlight.New(cfg.Backlight, panelOf(d.board), log, func(bool) { changed() })
	defer light.Close()

	// Technicians' entries and counselors' problem reports live in the
	// maintenance log; what is open is read back from it, so a reported
	// problem survives a restart.
	d.book, err = checks.OpenBook(d.mlog, func(last *room.MaintenanceEntry, open []room.ProblemReport) {
		corePtr.Load().MaintenanceUpdated(last, open)
	})
	if err != nil {
		return err
	}
	list := allChecks(cfg, d.board, parts)
	list = append(list, d.book.Check()) // advisory unless checks.required names it
	d.runner = checks.NewRunner(cfg.Checks, list, checks.Options{
		Maintenance: d.mlog, Logger: log,
		OnResults: func(rs []room.CheckResult) {
			core := corePtr.Load()
			core.ChecksUpdated(rs)
			core.FaultsUpdated(d.recentFaults())
		},
	})

	core, err := session.New(session.Config{
		Room: cfg.Room, Counselors: cfg.Counselors, Technicians: cfg.Technicians, Agreement: cfg.Agreement, Flow: cfg.Session,
		MaxLength: cfg.Recording.MaxSessionLength.Duration,
	}, session.Deps{
		Recorder: overrideLogger{d.recorder, d.runner},
		Checker:  d.runner,
		Uploader: d.uploader,
		Journal:  d.recorder.Spool().SessionJournal(),
		Log:      log,

		Maintenance: d.book,
	})
	if err != nil {
		return &config.Error{File: "session", Err: err}
	}
	d.core = core
	corePtr.Store(core)
	core.MaintenanceUpdated(d.book.State())
	// A crash or power cut left *.part files: seal them as partial before
	// anything else touches the spool, so they upload like any other
	// session; except the session the core resumes (its journal says it
	// was recording, within the resume window): its recording goes on in
	// the same folder when the core runs.
	var open []string
	if id := core.ResumeSession(); id != "" {
		open = append(open, id)
	}
	if _, err := d.recorder.Recover(open...); err != nil {
		log.Error().Err(err).Msg("recover interrupted sessions")
	}
	view := newDoorView(core, feed, light)
	viewPtr.Store(view)

	// 0755: the screen's user must reach the socket inside; the socket
	// itself is 0660 and the server checks the peer's credentials.
	if err := os.MkdirAll(filepath.Dir(cfg.Control.Socket), 0o755); err != nil {
		return fmt.Errorf("control socket folder: %w", err)
	}
	ctl, err := control.Listen(cfg.Control.Socket, cfg.Control.Group, view, log)
	if err != nil {
		return err
	}
	defer ctl.Close()
	stat, err := statusapi.Listen(cfg.Status, statusapi.Sources{
		Snapshot: view.Snapshot,
		Queue:    func() map[string]any { return queueFigures(d.uploader.Metrics()) },
		Uploads:  d.uploader.Sessions,
		Metrics:  []func() []statusapi.Metric{d.recorderMetrics, d.uploaderMetrics},
		Version:  version,
	}, log)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	errc := make(chan error, 8)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun("session core", core.Run)
	goRun("uploader", d.uploader.Run)
	goRun("control socket", ctl.Serve)
	goRun("status endpoint", stat.Serve)
	d.runner.Start(ctx)
	d.runner.RunOnDoorChange(ctx, d.board.Door)
	goRun("on-air light", d.followOnAir)
	goRun("backlight", func(ctx context.Context) error { return view.followBacklight(ctx, d.board) })
	if feed != nil {
		goRun("bookings", feed.Run)
	}

	log.Info().Str("socket", cfg.Control.Socket).Str("status", stat.Addr()).Msg("roomkiosk ready")
	if _, err := sdnotify.Notify("READY=1"); err != nil {
		log.Warn().Err(err).Msg("tell systemd we are ready")
	}
	goRun("watchdog", d.watchdog)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	_, _ = sdnotify.Notify("STOPPING=1")
	cancel()
	wg.Wait()
	d.runner.Wait()
	return runErr
}

// followOnAir keeps the light outside the door on exactly while the core
// says audio is being captured (which follows the recorder's own state).
func (d *daemon) followOnAir(ctx context.Context) error {
	snaps, stop := d.core.Subscribe()
	defer stop()
	on := false
	set := func(v bool) {
		if err := d.board.OnAir.Set(v); err != nil {
			d.log.Warn().Err(err).Bool("on", v).Msg("set on-air light")
			return
		}
		on = v
	}
	set(false)
	for {
		select {
		case <-ctx.Done():
			set(false)
			return nil
		case s, ok := <-snaps:
			if !ok {
				return nil
			}
			if s.Recording != on {
				set(s.Recording)
			}
		}
	}
}

// watchdog pings systemd while the core's loop still answers, so a hung
// daemon is restarted rather than showing a stale door.
func (d *daemon) watchdog(ctx context.Context) error {
	every := sdnotify.WatchdogInterval()
	if every == 0 {
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := d.core.Ping(pctx)
			cancel()
			if err != nil {
				d.log.Error().Err(err).Msg("session core does not answer; not pinging the watchdog")
				continue
			}
			_, _ = sdnotify.Notify("WATCHDOG=1")
		}
	}
}

// recentFaults reads the maintenance log's last faults for the maintenance
// screen (the round that just ran has already logged its own).
func (d *daemon) recentFaults() []room.Fault {
	es, err := d.mlog.LastFaults(5)
	if err != nil {
		d.log.Warn().Err(err).Msg("read recent faults from the maintenance log")
		return nil
	}
	fs := make([]room.Fault, 0, len(es))
	for _, e := range es {
		fs = append(fs, room.Fault{At: e.At, Check: e.Check, State: e.State, Value: e.Value})
	}
	return fs
}

// overrideLogger records a counselor's override of failing required checks
// in the maintenance log when the session it allowed starts recording.
type overrideLogger struct {
	*recorder.Recorder
	runner *checks.Runner
}

func (o overrideLogger) Start(info room.SessionInfo) error {
	if info.ChecksOverridden && !info.Resume {
		_ = o.runner.RecordOverride(info.ID, info.CounselorID, info.OverrideReason)
	}
	return o.Recorder.Start(info)
}

func queueFigures(m upload.Metrics) map[string]any {
	return map[string]any{
		"objects":            m.QueueObjects,
		"bytes":              m.QueueBytes,
		"oldest_unsent_secs": m.OldestUnsent.Seconds(),
		"quarantined":        m.Quarantined,
		"bytes_sent":         m.BytesSent,
		"failures":           m.Failures,
		"failing":            m.Failing,
		"permanent_error":    m.Permanent,
	}
}

func (d *daemon) recorderMetrics() []statusapi.Metric {
	m := d.recorder.Metrics()
	return []statusapi.Metric{
		{Name: "roomkiosk_recorder_overrun_frames_total", Help: "Frames dropped because the capture buffer was full.", Type: "counter", Value: float64(m.Overruns)},
		{Name: "roomkiosk_recorder_clipped_samples_total", Help: "Samples at full scale.", Type: "counter", Value: float64(m.ClippedSamples)},
		{Name: "roomkiosk_recorder_frames_captured_total", Help: "Audio frames captured.", Type: "counter", Value: float64(m.FramesCaptured)},
		{Name: "roomkiosk_recorder_segments_written_total", Help: "Encrypted segments sealed.", Type: "counter", Value: float64(m.SegmentsWritten)},
		{Name: "roomkiosk_recorder_device_lost_total", Help: "Times the capture device disappeared mid-session.", Type: "counter", Value: float64(m.DeviceLost)},
		{Name: "roomkiosk_recorder_resumes_total", Help: "Recordings resumed after the daemon's restart.", Type: "counter", Value: float64(m.Resumes)},
		{Name: "roomkiosk_recorder_write_errors_total", Help: "Failed spool writes.", Type: "counter", Value: float64(m.WriteErrors)},
		{Name: "roomkiosk_recorder_rms_dbfs", Help: "Last 100 ms RMS level.", Type: "gauge", Value: m.LastRMSdBFS},
		{Name: "roomkiosk_recorder_peak_dbfs", Help: "Last 100 ms peak level.", Type: "gauge", Value: m.LastPeakdBFS},
	}
}

func (d *daemon) uploaderMetrics() []statusapi.Metric {
	m := d.uploader.Metrics()
	return []statusapi.Metric{
		{Name: "roomkiosk_upload_queue_objects", Help: "Files waiting to be uploaded.", Type: "gauge", Value: float64(m.QueueObjects)},
		{Name: "roomkiosk_upload_queue_bytes", Help: "Bytes waiting to be uploaded.", Type: "gauge", Value: float64(m.QueueBytes)},
		{Name: "roomkiosk_upload_quarantined", Help: "Sessions and requests set aside after a verification failure.", Type: "gauge", Value: float64(m.Quarantined)},
		{Name: "roomkiosk_upload_oldest_unsent_seconds", Help: "Age of the oldest object not yet uploaded.", Type: "gauge", Value: m.OldestUnsent.Seconds()},
		{Name: "roomkiosk_upload_bytes_total", Help: "Bytes uploaded.", Type: "counter", Value: float64(m.BytesSent)},
		{Name: "roomkiosk_upload_failures_total", Help: "Failed upload attempts.", Type: "counter", Value: float64(m.Failures)},
	}
}

// panelOf is the board's backlight for the door's controller, nil when the
// board has none (a missing part only answers "not present").
func panelOf(b *hardware.Board) backlight.Light {
	if _, missing := b.Backlight.(*hardware.MissingPart); missing || b.Backlight == nil {
		return nil
	}
	return b.Backlight
}
