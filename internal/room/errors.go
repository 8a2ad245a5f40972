package room

import (
	"errors"
	"fmt"
)

// Sentinel causes of a refused intent; test with errors.Is.
var (
	ErrWrongStep = errors.New("not possible on this screen")
	ErrInvalid   = errors.New("invalid")
	ErrWrongPIN  = errors.New("wrong PIN")
	ErrLocked    = errors.New("PIN pad locked")
	ErrBusy      = errors.New("busy")
	ErrClosed    = errors.New("session core stopped")
)

// RefusedError is the core's answer to an intent it did not accept. Its
// message is plain enough to show a developer; the screen shows its own text
// from Code.
type RefusedError struct {
	Kind   IntentKind
	Step   Step
	Reason string
	Err    error // one of the sentinels above
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("intent %s refused at step %s: %s", e.Kind, e.Step, e.Reason)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Code is a stable name of the sentinel, used on the control socket.
func (e *RefusedError) Code() string { return CodeOf(e.Err) }

var codes = map[error]string{
	ErrWrongStep: "wrong_step",
	ErrInvalid:   "invalid",
	ErrWrongPIN:  "wrong_pin",
	ErrLocked:    "locked",
	ErrBusy:      "busy",
	ErrClosed:    "closed",
}

// CodeOf returns the stable code of a sentinel error ("" if none).
func CodeOf(err error) string {
	for s, c := range codes {
		if errors.Is(err, s) {
			return c
		}
	}
	return ""
}

// ErrorForCode returns the sentinel error with that code (nil if unknown).
func ErrorForCode(code string) error {
	for s, c := range codes {
		if c == code {
			return s
		}
	}
	return nil
}
