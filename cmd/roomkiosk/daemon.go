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
	"roomkiosk/kiosk/door"
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
	cfg      *config.Config
	log      zerolog.Logger
	closers  []func() error // released last to first
	board    *hardware.Board
	mlog     *checks.Log
	uploader *upload.Uploader
	recorder *recorder.Recorder
	runner   *checks.Runner
	book     *checks.Book // maintenance entries and problem reports, from the maintenance log
	feed     *bookings.Feed
	light    *backlight.Controller
	core     *session.Core
	view     *door.View
}

// runDaemon wires the parts and runs them until ctx ends or one fails.
func runDaemon(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &daemon{cfg: cfg, log: log}
	defer d.close()
	log.Info().Str("version", version).Str("backend", cfg.Hardware.Backend).Msg("roomkiosk starting")

	// The parts report to the inbox: they are made before the core, which
	// is made from them.
	in := &door.Inbox{}
	if err := d.openParts(in); err != nil {
		return err
	}
	if err := d.openCore(); err != nil {
		return err
	}
	d.view = door.NewView(d.core, d.feed, d.light)
	in.Open(d.core, d.view)
	ctl, stat, err := d.listen()
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
	goRun("session core", d.core.Run)
	goRun("uploader", d.uploader.Run)
	goRun("control socket", ctl.Serve)
	goRun("status endpoint", stat.Serve)
	d.runner.Start(ctx)
	d.runner.RunOnDoorChange(ctx, d.board.Door)
	goRun("on-air light", func(ctx context.Context) error { return door.FollowOnAir(ctx, d.core, d.board.OnAir, log) })
	goRun("backlight", func(ctx context.Context) error { return d.view.FollowBacklight(ctx, activity(ctx, d.board)) })
	if d.feed != nil {
		goRun("bookings", d.feed.Run)
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

// openParts opens the board, the maintenance log, the uploader, the
// recorder, the bookings feed, the backlight and the check runner; each
// reports to in.
func (d *daemon) openParts(in *door.Inbox) error {
	cfg, log := d.cfg, d.log
	// Each session is encrypted to escrow, its counselor and their
	// supervisors: the recorder asks the keyring at every start.
	keyring, err := cfg.Keyring()
	if err != nil {
		return &config.Error{File: "encryption", Err: err}
	}
	if d.board, err = board.Open(cfg.Hardware, log); err != nil {
		return fmt.Errorf("open board: %w", err)
	}
	d.closers = append(d.closers, d.board.Close)
	if d.mlog, err = checks.OpenLog(cfg.Checks.LogDir, checks.KeepDays(cfg.Checks.LogKeepDays)); err != nil {
		return fmt.Errorf("open maintenance log: %w", err)
	}
	d.closers = append(d.closers, d.mlog.Close)

	d.uploader, err = upload.New(cfg.Storage, cfg.Room.ID, cfg.Room.DeviceID, cfg.Recording.SpoolDir, cfg.Checks.LogDir, log, upload.WithVersion(version), upload.WithRetentionClass(cfg.Retention.Class))
	if err != nil {
		return fmt.Errorf("start uploader: %w", err)
	}
	src := &capture.Source{Device: cfg.Recording.Device}
	d.recorder, err = recorder.New(recorder.Options{
		Config: cfg.Recording, Keyring: keyring, RoomID: cfg.Room.ID, DeviceID: cfg.Room.DeviceID,
		RetentionClass: cfg.Retention.Class, Source: src, Uploader: d.uploader, Log: log, OnStatus: in.RecorderChanged,
	})
	if err != nil {
		return fmt.Errorf("start recorder: %w", err)
	}
	d.closers = append(d.closers, d.recorder.Close)

	parts := checkParts{source: src, recorder: d.recorder, uploader: d.uploader}
	if cfg.Bookings.Enabled() {
		// The runner is made below; the feed's first fetch runs after it.
		rerun := func() {
			if d.runner != nil {
				d.runner.RunChecks("bookings")
			}
		}
		if d.feed, err = bookings.New(cfg.Bookings, log, in.Changed, bookings.OnHealthChange(rerun)); err != nil {
			return &config.Error{File: "bookings", Err: err}
		}
		parts.extra = append(parts.extra, d.feed.Check())
	}
	d.light = backlight.New(cfg.Backlight, panelOf(d.board), log, func(bool) { in.Changed() })
	d.closers = append(d.closers, func() error { d.light.Close(); return nil })

	// Technicians' entries and counselors' problem reports live in the
	// maintenance log; what is open is read back from it, so a reported
	// problem survives a restart.
	if d.book, err = checks.OpenBook(d.mlog, in.MaintenanceUpdated); err != nil {
		return err
	}
	list := allChecks(cfg, d.board, parts)
	list = append(list, d.book.Check()) // advisory unless checks.required names it
	d.runner = checks.NewRunner(cfg.Checks, list, checks.Options{
		Maintenance: d.mlog, Logger: log,
		OnResults: func(rs []room.CheckResult) {
			in.ChecksUpdated(rs)
			in.FaultsUpdated(d.recentFaults())
		},
	})
	return nil
}

// openCore makes the session core from the parts, then recovers the spool.
func (d *daemon) openCore() error {
	cfg := d.cfg
	core, err := session.New(session.Config{
		Room: cfg.Room, Counselors: cfg.Counselors, Technicians: cfg.Technicians, Agreement: cfg.Agreement, Consent: cfg.Consent, Flow: cfg.Session,
		MaxLength: cfg.Recording.MaxSessionLength.Duration,
	}, session.Deps{
		Recorder: overrideLogger{d.recorder, d.runner},
		Checker:  d.runner,
		Uploader: d.uploader,
		Journal:  d.recorder.Spool().SessionJournal(),
		Log:      d.log,

		Maintenance: d.book,
	})
	if err != nil {
		return &config.Error{File: "session", Err: err}
	}
	d.core = core
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
		d.log.Error().Err(err).Msg("recover interrupted sessions")
	}
	return nil
}

// listen opens the control socket for the screen and the status endpoint,
// both on the door's view.
func (d *daemon) listen() (*control.Server, *statusapi.Server, error) {
	cfg := d.cfg
	// 0755: the screen's user must reach the socket inside; the socket
	// itself is 0660 and the server checks the peer's credentials.
	if err := os.MkdirAll(filepath.Dir(cfg.Control.Socket), 0o755); err != nil {
		return nil, nil, fmt.Errorf("control socket folder: %w", err)
	}
	ctl, err := control.Listen(cfg.Control.Socket, cfg.Control.Group, d.view, d.log)
	if err != nil {
		return nil, nil, err
	}
	d.closers = append(d.closers, ctl.Close)
	stat, err := statusapi.Listen(cfg.Status, statusapi.Sources{
		Snapshot: d.view.Snapshot,
		Queue:    func() map[string]any { return queueFigures(d.uploader.Metrics()) },
		Uploads:  d.uploader.Sessions,
		Metrics:  []func() []statusapi.Metric{d.recorderMetrics, d.uploaderMetrics},
		Version:  version,
	}, d.log)
	if err != nil {
		return nil, nil, err
	}
	return ctl, stat, nil
}

// close releases what was opened, last first.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		_ = d.closers[i]()
	}
}

// activity is every door edge and every arrival on the board, for the
// backlight (a door edge or someone coming in wakes the screen); it closes
// when both watchers have.
func activity(ctx context.Context, b *hardware.Board) <-chan struct{} {
	out := make(chan struct{})
	doors := b.Door.Watch(ctx)
	people := b.Presence.Watch(ctx)
	go func() {
		defer close(out)
		for doors != nil || people != nil {
			select {
			case _, ok := <-doors:
				if !ok {
					doors = nil
					continue
				}
			case e, ok := <-people:
				if !ok {
					people = nil
					continue
				}
				if !e.Present {
					continue
				}
			}
			select {
			case out <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
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
