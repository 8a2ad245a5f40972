package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
)

// Check is the shape of a check for the check runner (hardware/checks.Check
// has the same methods).
type Check interface {
	Name() string
	Run(ctx context.Context) room.CheckResult
}

// Check names.
const (
	CheckUpload  = "upload"
	CheckClock   = "clock"
	CheckBacklog = "backlog"
)

// MaxClockOffset is the clock check's limit against the storage server.
const MaxClockOffset = 2 * time.Second

// clockFresh is how old a clock measurement may be before the clock check
// measures again.
const clockFresh = 10 * time.Minute

// Checks returns the upload, clock and backlog checks.
func (u *Uploader) Checks() []Check {
	return []Check{uploadCheck{u}, clockCheck{u}, backlogCheck{u}}
}

// probe proves that the device may write to its room: a put, with
// If-None-Match, of a fixed object under rooms/<room>/probe/. The server
// checks signature and policy before the condition, so "already exists"
// proves valid credentials too, and the probe makes no new object version.
func (u *Uploader) probe(ctx context.Context) error {
	body := []byte("roomkiosk upload probe\n")
	key := layout.ProbeKey(u.room, u.device)
	return u.put(ctx, key, bytes.NewReader(body), int64(len(body)), sha256.Sum256(body), store.PutOptions{IfAbsent: true, ContentType: "text/plain"})
}

type uploadCheck struct{ u *Uploader }

func (uploadCheck) Name() string { return CheckUpload }

func (c uploadCheck) Run(ctx context.Context) room.CheckResult {
	u := c.u
	th := "storage reachable, credentials valid"
	if strings.HasPrefix(u.cfg.Endpoint, "https:") {
		th += ", TLS verified"
	}
	err := u.probe(ctx)
	if err == nil {
		v := "reachable"
		if strings.HasPrefix(u.cfg.Endpoint, "https:") {
			v = "reachable, TLS verified"
		}
		return room.CheckResult{Name: CheckUpload, State: room.CheckGood, Value: v, Threshold: th}
	}
	var se *store.Error
	code := ""
	if errors.As(err, &se) {
		code = se.Code
	}
	hint := "Recordings stay on the device and upload later. Check the network cable or Wi-Fi, then tell the administrator."
	value := "unreachable"
	if store.IsPermanent(err) {
		value = "refused"
		if code != "" {
			value = "refused: " + code
		}
		switch code {
		case "Credentials":
			hint = "The device's storage credentials file is missing, malformed or readable by others (must be mode 0600): ask the administrator."
		case "InvalidAccessKeyId", "SignatureDoesNotMatch":
			hint = "The storage server does not accept this device's credentials: ask the administrator to provision the room again."
		case "AccessDenied":
			hint = "The device may not write to its room's folder: ask the administrator to re-apply the room policy (roomctl provision)."
		case "NoSuchBucket":
			hint = "The storage bucket does not exist: ask the administrator (roomctl bucket init)."
		case "TLSVerify":
			hint = "The storage server's certificate is not trusted: ask the administrator to set storage.ca_file."
		case "RequestTimeTooSkewed":
			hint = "The device clock is far off, so storage refuses it: fix the clock (network time)."
		default:
			hint = "Storage refuses uploads: ask the administrator."
		}
	}
	return room.CheckResult{Name: CheckUpload, State: room.CheckAbnormal, Value: value, Threshold: th, Hint: hint}
}

type clockCheck struct{ u *Uploader }

func (clockCheck) Name() string { return CheckClock }

func (c clockCheck) Run(ctx context.Context) room.CheckResult {
	u := c.u
	th := fmt.Sprintf("within %v of the storage server", MaxClockOffset)
	u.mu.Lock()
	off, at := u.clockOffset, u.clockAt
	u.mu.Unlock()
	if at.IsZero() || time.Since(at) > clockFresh {
		// Any answer carries a Date, even a refusal.
		_ = u.probe(ctx)
		u.mu.Lock()
		off, at = u.clockOffset, u.clockAt
		u.mu.Unlock()
	}
	if at.IsZero() || time.Since(at) > clockFresh {
		return room.CheckResult{Name: CheckClock, State: room.CheckUnknown, Value: "no reading (storage unreachable)", Threshold: th,
			Hint: "The clock cannot be compared while storage is unreachable."}
	}
	// The value is the device's clock minus the server's, as every display
	// of the offset (layout.Status.DeviceAhead): "+0.5 s" is a device
	// 0.5 s ahead. off is server minus device.
	ahead := -off
	v := fmt.Sprintf("%+.1f s (device %s)", ahead.Seconds(), aheadWord(ahead))
	if off > MaxClockOffset || off < -MaxClockOffset {
		return room.CheckResult{Name: CheckClock, State: room.CheckAbnormal, Value: v, Threshold: th,
			Hint: "The device clock is off: check network time (NTP) before a recorded session, recording times would be wrong."}
	}
	return room.CheckResult{Name: CheckClock, State: room.CheckGood, Value: v, Threshold: th}
}

type backlogCheck struct{ u *Uploader }

func (backlogCheck) Name() string { return CheckBacklog }

func (c backlogCheck) Run(ctx context.Context) room.CheckResult {
	u := c.u
	q := u.queue()
	max := u.cfg.BacklogMaxAge.Duration
	th := fmt.Sprintf("oldest unsent under %v, nothing quarantined", max)
	age := time.Duration(q.OldestAgeSec) * time.Second
	v := fmt.Sprintf("%d waiting (%.1f MB)", q.Objects, float64(q.Bytes)/1e6)
	if q.Objects > 0 {
		v += fmt.Sprintf(", oldest %v", age.Round(time.Second))
	}
	switch {
	case q.Quarantined > 0:
		return room.CheckResult{Name: CheckBacklog, State: room.CheckAbnormal, Value: fmt.Sprintf("%s, %d quarantined", v, q.Quarantined), Threshold: th,
			Hint: "A recording could not be uploaded as it is and was set aside on the device: tell the administrator."}
	case age > max:
		return room.CheckResult{Name: CheckBacklog, State: room.CheckAbnormal, Value: v, Threshold: th,
			Hint: "Recordings are waiting on the device for upload: check the network and the upload check."}
	}
	return room.CheckResult{Name: CheckBacklog, State: room.CheckGood, Value: v, Threshold: th}
}

// aheadWord says which way a device clock that is ahead by d is off.
func aheadWord(d time.Duration) string {
	switch {
	case d > layout.ClockResolution:
		return "ahead"
	case d < -layout.ClockResolution:
		return "behind"
	}
	return "in step"
}
