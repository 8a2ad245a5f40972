package checks

import (
	"context"
	"errors"
	"fmt"
	"roomkiosk/internal/room"
	"strings"
)

// Check is one named equipment or environment check. Run must honour ctx
// (the runner cancels it at checks.timeout) and fill State, Value, Threshold
// and Hint; the runner fills Required and At. Other packages (recorder,
// uploader) provide their checks with this same shape.
type Check interface {
	Name() string
	Run(ctx context.Context) room.CheckResult
}

// Func adapts a function to a Check.
func Func(name string, run func(ctx context.Context) room.CheckResult) Check {
	return funcCheck{name, run}
}

type funcCheck struct {
	name string
	run  func(ctx context.Context) room.CheckResult
}

func (f funcCheck) Name() string                             { return f.name }
func (f funcCheck) Run(ctx context.Context) room.CheckResult { return f.run(ctx) }

// Good, Abnormal and Unknown build results with the name filled in.
func Good(name, value, threshold string) room.CheckResult {
	return room.CheckResult{Name: name, State: room.CheckGood, Value: value, Threshold: threshold}
}

func Abnormal(name, value, threshold, hint string) room.CheckResult {
	return room.CheckResult{Name: name, State: room.CheckAbnormal, Value: value, Threshold: threshold, Hint: hint}
}

// Unknown is a check that could not measure; err says why and goes into the
// value, shortened, so `roomkiosk check` at install time shows the cause.
func Unknown(name string, err error, threshold, hint string) room.CheckResult {
	value := "no reading"
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out"
		}
		if len(msg) > 90 {
			msg = msg[:87] + "..."
		}
		value = fmt.Sprintf("no reading (%s)", msg)
	}
	return room.CheckResult{Name: name, State: room.CheckUnknown, Value: value, Threshold: threshold, Hint: hint}
}

// Blocking returns the required checks that are abnormal: the ones that put
// the door in Out of service and stop a recorded session from starting
// unless the counselor overrides them.
func Blocking(results []room.CheckResult) []room.CheckResult {
	var out []room.CheckResult
	for _, r := range results {
		if r.Required && r.State == room.CheckAbnormal {
			out = append(out, r)
		}
	}
	return out
}

// Names lists the results' names, comma separated (for log lines).
func Names(results []room.CheckResult) string {
	n := make([]string, len(results))
	for i, r := range results {
		n[i] = r.Name
	}
	return strings.Join(n, ",")
}
