package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/hardware/checks"
	"roomkiosk/hardware/sim"
	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/miniostore"
	"roomkiosk/sync/upload"
)

const bucket = "clinic"

// fixture is a real MinIO holding what three rooms' real uploaders sent:
// recordings made by the recorder from a spool, session summaries, deletion
// requests, status objects and maintenance logs written by the check
// runner's own log.
type fixture struct {
	srv     *miniotest.Server
	cl      *minio.Client
	ar      *archive.Archive
	id      *age.X25519Identity
	keyFile string
	env     []string // ROOMCTL_* for the roomctl binary
	ctx     context.Context
	rooms   map[string]*roomFix
}

// roomFix is what one room did, for the assertions.
type roomFix struct {
	id        string
	logDir    string
	door      room.Door
	recording bool
	failing   []string
	noStatus  bool // its status never reaches the archive: stale
	recorded  string
	withdrawn string // withdrawn with delete: a verified deletion request
	deleted   string // recorded, uploaded, then a deletion request: suspicious
	declined  string
	devCl     *minio.Client // the device's own write-only client
}

// runLine is a maintenance log "run" line with a temperature result.
type runLine struct {
	at        time.Time
	v         string
	threshold string // as the runner wrote it: only where it changed or a day began
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := miniotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{srv: srv, cl: srv.Client(t), ctx: ctx, rooms: map[string]*roomFix{}}
	for attempt := 0; ; attempt++ {
		_, err := admin.InitBucket(ctx, f.cl, bucket, 30)
		if err == nil {
			break
		}
		// A fresh server answers its health probe a moment before it
		// accepts bucket calls.
		if attempt > 100 || !strings.Contains(err.Error(), "not initialized") {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	f.ar = &archive.Archive{Client: f.cl, Bucket: bucket}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	f.id = id
	f.keyFile = filepath.Join(t.TempDir(), "admin.agekey")
	if err := os.WriteFile(f.keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env = append(os.Environ(), "ROOMCTL_ENDPOINT="+srv.Endpoint, "ROOMCTL_ACCESS_KEY="+srv.AccessKey,
		"ROOMCTL_SECRET_KEY="+srv.SecretKey, "ROOMCTL_BUCKET="+bucket)
	return f
}

// roomctl builds the real roomctl binary once per test.
func roomctl(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "roomctl")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), out, []string{"CGO_ENABLED=0"}, "./cmd/roomctl"); err != nil {
		t.Fatal(err)
	}
	return out
}

// deviceChecks are the checks of a fixture room's check runner: the real
// hardware checks on a sim board, and stand-ins for the microphone, clock
// and backlog checks (theirs need a live capture device and a storage
// server's clock at each past round) that word their results as those
// checks do; all run through the real runner, which writes the log.
func deviceChecks(cfg checks.Config, board *hardware.Board, now func() time.Time, i *int) []checks.Check {
	return append(checks.HardwareClock(cfg, board, now),
		checks.Func("microphone", func(context.Context) room.CheckResult {
			noise := -58 + 4*math.Sin(float64(*i)/3)
			peak := -14 + 3*math.Sin(float64(*i)/4)
			return checks.Good("microphone", fmt.Sprintf("noise %.0f dBFS, peak %.0f dBFS, 0 clipped", noise, peak),
				"noise < -45 dBFS, speech peak > -30 dBFS, no clipping")
		}),
		checks.Func(upload.CheckClock, func(context.Context) room.CheckResult {
			// Within the half second of the Date header: in step.
			ahead := 0.4 * math.Sin(float64(*i)/9)
			return checks.Good(upload.CheckClock, fmt.Sprintf("%+.1f s (device in step)", ahead), "within 2s of the storage server")
		}),
		checks.Func(upload.CheckBacklog, func(context.Context) room.CheckResult {
			waiting := 0 // now and then a few uploads wait for a while
			if k := *i % 48; k >= 20 && k < 24 {
				waiting = k - 19
			}
			v := fmt.Sprintf("%d waiting (%.1f MB)", waiting, float64(waiting)*0.9)
			if waiting > 0 {
				v += fmt.Sprintf(", oldest %v", time.Duration(waiting)*45*time.Second)
			}
			return checks.Good(upload.CheckBacklog, v, "oldest unsent under 1h0m0s, nothing quarantined")
		}),
	)
}

// lastTemps is what room 101's sim board measured in the last four
// rounds, against the default 18-26 °C: the plot marks the third.
var lastTemps = []float64{21.4, 23.9, 27.3, 21.4}

// writeLog runs the room's check runner over the last days on a sim
// board, a round every 30 minutes on the runner's clock, so the log is the
// runner's own: the humidity out of range for a round two days ago (a
// fault and its recovery), for a room with a failing check the humidity
// out of range for the last three hours, and for room 101 the temperature
// going 21.4 -> 23.9 -> 27.3 -> 21.4 °C in the last rounds. It returns the
// last round's results, as the daemon's status carries them.
func (rf *roomFix) writeLog(t *testing.T, now time.Time, days int, failingNow bool) []room.CheckResult {
	t.Helper()
	l, err := checks.OpenLog(rf.logDir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sb := sim.New(hardware.Default().Sim, zerolog.Nop())
	defer sb.Close()
	cfg := checks.Default()
	cfg.LogDir = rf.logDir
	cfg.Required = []string{"door", "microphone"}
	cfg.LightMinLux = 150
	var at time.Time
	i := 0
	clock := func() time.Time { return at }
	book, err := checks.OpenBook(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := append(deviceChecks(cfg, sb.Board(), clock, &i), book.Check())
	r := checks.NewRunner(cfg, list, checks.Options{Maintenance: l, Now: clock, Logger: zerolog.Nop()})
	start := now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(30 * time.Minute).Add(7 * time.Minute)
	var rounds []time.Time
	for ts := start; ts.Before(now.Add(-5 * time.Minute)); ts = ts.Add(30 * time.Minute) {
		rounds = append(rounds, ts)
	}
	for ; i < len(rounds); i++ {
		at = rounds[i]
		st := sim.State{
			TemperatureC: sim.Ptr(math.Round((21.5+2.5*math.Sin(float64(i)/7))*10) / 10),
			HumidityPct:  sim.Ptr(math.Round(45 + 8*math.Sin(float64(i)/11))),
			Lux:          sim.Ptr(math.Round(300 + 120*math.Sin(float64(i)/5))),
		}
		if d := now.Sub(at); d >= 48*time.Hour && d < 48*time.Hour+30*time.Minute || failingNow && d < 3*time.Hour {
			st.HumidityPct = sim.Ptr(72 + float64(i%3))
		}
		if k := len(rounds) - i; rf.id == "101" && k <= len(lastTemps) {
			st.TemperatureC = sim.Ptr(lastTemps[len(lastTemps)-k])
		}
		sb.Set(st)
		r.Run(context.Background(), checks.ReasonInterval)
	}
	return r.Last()
}

// runLines reads back the local log's run lines (what the plots must show).
func (rf *roomFix) runLines(t *testing.T) []runLine {
	t.Helper()
	es, err := checks.Recent(rf.logDir, 1<<30, checks.KindRun)
	if err != nil {
		t.Fatal(err)
	}
	var out []runLine
	for _, e := range es {
		for _, r := range e.Results {
			if r.Name == "temperature" {
				out = append(out, runLine{e.At, r.Value, r.Threshold})
			}
		}
	}
	return out
}

// dropStatus is a device store through which status.json never arrives (a
// kiosk whose status puts fail while its queue still drains): its room
// is stale on every admin page.
type dropStatus struct{ store.Store }

func (d dropStatus) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, o store.PutOptions) (store.PutResult, error) {
	if strings.HasSuffix(key, "/status.json") {
		return store.PutResult{}, nil
	}
	return d.Store.Put(ctx, key, body, size, sum, o)
}

// record captures secs seconds of speech-like audio into the spool as one
// session, with the real recorder, and returns its id.
func record(t *testing.T, rec *recorder.Recorder, src *recordertest.Source, started time.Time, suffix string, withdrawn bool) string {
	t.Helper()
	id := started.UTC().Format("20060102T150405Z") + "-" + suffix
	info := room.SessionInfo{ID: id, CounselorID: "c-7", Started: started, MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("ab", 32), Language: "zh",
			Decisions: []room.Decision{
				{Participant: 1, Consented: true, Language: "zh", TextSHA256: strings.Repeat("ab", 32), At: started.Add(-2 * time.Minute)},
				{Participant: 2, Consented: true, Language: "en", TextSHA256: strings.Repeat("cd", 32), At: started.Add(-time.Minute)}}}}
	if err := rec.Start(info); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for src.Offset() < len(src.PCM) {
		if time.Now().After(deadline) {
			t.Fatalf("recorder took %d of %d bytes in a minute", src.Offset(), len(src.PCM))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the last chunk reaches the writer
	if err := rec.Stop(id, withdrawn); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	return id
}

// addRoom provisions a room's write-only user, writes its log, records its
// sessions and runs its uploader until the archive holds everything.
func (f *fixture) addRoom(t *testing.T, rf *roomFix, now time.Time, sessions func(mk func() (*recorder.Recorder, *recordertest.Source), u *upload.Uploader)) {
	t.Helper()
	f.rooms[rf.id] = rf
	ak, sk := f.srv.AddWriteOnlyUser(t, bucket, "rooms/"+rf.id+"/")
	rf.devCl = f.srv.ClientFor(t, ak, sk)
	creds := filepath.Join(t.TempDir(), "credentials.toml")
	if err := os.WriteFile(creds, []byte(fmt.Sprintf("access_key = %q\nsecret_key = %q\n", ak, sk)), 0o600); err != nil {
		t.Fatal(err)
	}
	rf.logDir = t.TempDir()
	last := rf.writeLog(t, now, 12, len(rf.failing) > 0)
	spool := t.TempDir()

	ucfg := upload.Default()
	ucfg.Endpoint, ucfg.Bucket, ucfg.CredentialsFile = f.srv.Endpoint, bucket, creds
	var opts []upload.Option
	opts = append(opts, upload.WithRetryBase(50*time.Millisecond))
	if rf.noStatus {
		st, err := miniostore.New(miniostore.Config{Endpoint: f.srv.Endpoint, Bucket: bucket, AccessKey: ak, SecretKey: sk})
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, upload.WithStore(dropStatus{st}))
	}
	u, err := upload.New(ucfg, rf.id, "kiosk-"+rf.id, spool, rf.logDir, zerolog.Nop(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	snap := room.Snapshot{RoomID: rf.id, Door: rf.door, Recording: rf.recording, Recorder: room.RecorderIdle}
	if rf.recording {
		snap.Recorder = room.RecorderRecording
	}
	snap.Checks = last
	u.StatusChanged(snap)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); u.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer stop()

	cfg := recorder.Default()
	cfg.SpoolDir = spool
	cfg.SegmentLength.Duration = time.Second
	cfg.FreeMarginMB = 0
	seed := uint64(len(f.rooms))
	mk := func() (*recorder.Recorder, *recordertest.Source) {
		seed += 10
		src := &recordertest.Source{PCM: archivetest.Speechlike(3*16000+4000, 1, seed), Chunk: 3200, Every: 100 * time.Millisecond} // real time
		rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{f.id.Recipient()}, RoomID: rf.id, DeviceID: "kiosk-" + rf.id,
			Source: src, Log: zerolog.Nop(), Uploader: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rec.Close() })
		return rec, src
	}
	sessions(mk, u)
	u.Wake()

	// Wait until the archive holds every session, and today's log as far
	// as it was written.
	today := now.UTC().Format(time.DateOnly)
	fi, err := os.Stat(filepath.Join(rf.logDir, today+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	snapKey := fmt.Sprintf("rooms/%s/checks/%s/%s.upto-%d.jsonl", rf.id, now.UTC().Format("2006/01"), today, fi.Size())
	want, wantDel := 0, 0
	for _, s := range []string{rf.recorded, rf.withdrawn, rf.deleted, rf.declined} {
		if s != "" {
			want++
		}
	}
	for _, s := range []string{rf.withdrawn, rf.deleted} {
		if s != "" {
			wantDel++
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rows, err := f.ar.Sessions(f.ctx, archive.Filter{Room: rf.id})
		_, serr := f.cl.StatObject(f.ctx, bucket, snapKey, minio.StatObjectOptions{})
		reqs, derr := f.ar.DeletionRequests(f.ctx)
		dels := 0
		for _, r := range reqs {
			if r.Room == rf.id {
				dels++
			}
		}
		ok := err == nil && serr == nil && derr == nil && len(rows) == want && dels == wantDel && u.Metrics().QueueObjects == 0
		for _, r := range rows {
			if r.State == "uploading" || (r.Session == rf.recorded && r.Feedback == 0) {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: archive incomplete after 3 minutes: %d sessions (%v), log snapshot %v, queue %+v", rf.id, len(rows), err, serr, u.Metrics())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !rf.noStatus {
		// The status goes up with the real clock check's result, measured
		// against this MinIO by these uploads, in place of the stand-in's:
		// the room header's offset and the clock check's value come from
		// one measurement (no upload runs in between to measure again).
		stop()
		for i, c := range snap.Checks {
			if c.Name == upload.CheckClock {
				res := u.Checks()[1].Run(f.ctx)
				res.At, res.Required = c.At, c.Required
				snap.Checks[i] = res
			}
		}
		u.StatusChanged(snap)
		if err := u.PutStatus(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// buildFleet makes the three rooms of the browser test:
//
//	101: free, every check good; a recorded session rated 5/5
//	102: in session and recording, humidity failing; a recorded session
//	     whose deletion was then requested, and a declined one
//	103: never reports its status (stale); a recorded session that its
//	     compromised kiosk later overwrote (tampered)
func buildFleet(t *testing.T, now time.Time) *fixture {
	t.Helper()
	f := newFixture(t)
	summary := func(u *upload.Uploader, id string, started time.Time, recorded, declined bool, feedback int) {
		u.SessionEnded(room.Summary{ID: id, Started: started, Ended: started.Add(50 * time.Minute), Participants: 2,
			WantRecording: true, Recorded: recorded, Declined: declined, Feedback: feedback})
	}
	r101 := &roomFix{id: "101", door: room.DoorFree}
	f.addRoom(t, r101, now, func(mk func() (*recorder.Recorder, *recordertest.Source), u *upload.Uploader) {
		rec, src := mk()
		started := now.Add(-5 * time.Hour).Truncate(time.Second)
		r101.recorded = record(t, rec, src, started, "a10101", false)
		summary(u, r101.recorded, started, true, false, 5)
	})
	r102 := &roomFix{id: "102", door: room.DoorInSession, recording: true, failing: []string{"humidity"}}
	f.addRoom(t, r102, now, func(mk func() (*recorder.Recorder, *recordertest.Source), u *upload.Uploader) {
		rec, src := mk()
		started := now.Add(-7 * time.Hour).Truncate(time.Second)
		r102.deleted = record(t, rec, src, started, "b10201", false)
		summary(u, r102.deleted, started, true, false, 0)
		// Uploaded first, then a deletion request that nothing the
		// device wrote at the time backs: suspicious.
		waitSession(t, f, "102", r102.deleted)
		if err := rec.Discard(r102.deleted); err != nil {
			t.Fatal(err)
		}
		rec.Wait()
		// Withdrawn, and the participants chose to delete: verified.
		w := now.Add(-6 * time.Hour).Truncate(time.Second)
		rec, src = mk()
		r102.withdrawn = record(t, rec, src, w, "b10203", true)
		if err := rec.Discard(r102.withdrawn); err != nil {
			t.Fatal(err)
		}
		rec.Wait()
		u.SessionEnded(room.Summary{ID: r102.withdrawn, Started: w, Ended: w.Add(20 * time.Minute), Participants: 2,
			WantRecording: true, Recorded: true, Withdrawn: true})
		d := now.Add(-3 * time.Hour).Truncate(time.Second)
		r102.declined = d.UTC().Format("20060102T150405Z") + "-b10202"
		summary(u, r102.declined, d, false, true, 4)
	})
	r103 := &roomFix{id: "103", door: room.DoorFree, noStatus: true}
	f.addRoom(t, r103, now, func(mk func() (*recorder.Recorder, *recordertest.Source), u *upload.Uploader) {
		rec, src := mk()
		started := now.Add(-2 * time.Hour).Truncate(time.Second)
		r103.recorded = record(t, rec, src, started, "c10301", false)
		summary(u, r103.recorded, started, true, false, 3)
	})
	return f
}

func waitSession(t *testing.T, f *fixture, roomID, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := f.ar.FindSession(f.ctx, id, roomID); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s not uploaded in 2 minutes", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tamper plays a compromised kiosk: with the room's own write-only
// credentials it puts a new version over a stored segment.
func (f *fixture) tamper(t *testing.T, roomID, id string) string {
	t.Helper()
	s, err := f.ar.FindSession(f.ctx, id, roomID)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSuffix(s.Key, "manifest.json") + s.Manifest.Segments[0].Name
	junk := bytes.Repeat([]byte("not the recording "), 500)
	if _, err := f.rooms[roomID].devCl.PutObject(f.ctx, bucket, key, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
		t.Fatalf("device put over %s: %v", key, err)
	}
	return key
}

// get fetches a console URL with plain HTTP (no browser).
func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
		if k == "Host" {
			req.Host = v
		}
	}
	if consoleCookie != nil {
		req.AddCookie(consoleCookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
