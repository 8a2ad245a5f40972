// Package control is the local socket between the daemon and the screen.
//
// The daemon listens on a unix stream socket (mode 0660, group = the
// screen's group) and checks each peer's credentials (SO_PEERCRED). The
// protocol is newline-delimited JSON, one object per line:
//
//	client -> daemon   {"id":7,"intent":{"kind":"consent","participant":1,"yes":true,"language":"en","text_sha256":"..."}}
//	daemon -> client   {"snapshot":{...room.Snapshot...}}
//	daemon -> client   {"reply":7}                                      intent accepted
//	daemon -> client   {"reply":7,"error":{"message":"...","code":"wrong_step","kind":"consent","step":"door","reason":"..."}}
//
// On connect the daemon sends the current snapshot at once, then a snapshot
// after every change (latest-wins: a slow client skips intermediate ones).
// Intents on one connection are decided in order; the reply's id is the
// request's (ids are chosen by the client, non-zero). Several clients may be
// connected at once; they all see the same snapshots.
//
// A check_override intent's reason must be one of the codes in
// room.OverrideReasons; anything else is refused with code "invalid" before
// the core sees it, and is neither logged nor echoed.
package control

import (
	"errors"
	"roomkiosk/internal/room"
)

// maxLine bounds one protocol line. A snapshot holds the agreement texts
// and is well under this.
const maxLine = 1 << 20

type request struct {
	ID     uint64      `json:"id"`
	Intent room.Intent `json:"intent"`
}

type message struct {
	Snapshot *room.Snapshot `json:"snapshot,omitempty"`
	Reply    uint64         `json:"reply,omitempty"`
	Error    *wireError     `json:"error,omitempty"`
}

type wireError struct {
	Message string          `json:"message"`
	Code    string          `json:"code,omitempty"` // room.CodeOf
	Kind    room.IntentKind `json:"kind,omitempty"`
	Step    room.Step       `json:"step,omitempty"`
	Reason  string          `json:"reason,omitempty"`
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Message: err.Error(), Code: room.CodeOf(err)}
	var re *room.RefusedError
	if errors.As(err, &re) {
		w.Kind, w.Step, w.Reason = re.Kind, re.Step, re.Reason
	}
	return w
}

// fromWire rebuilds the core's error on the client side, so errors.Is with
// the session sentinels works across the socket.
func fromWire(w *wireError) error {
	if w == nil {
		return nil
	}
	sentinel := room.ErrorForCode(w.Code)
	if w.Kind != "" {
		if sentinel == nil {
			sentinel = errors.New(w.Reason)
		}
		return &room.RefusedError{Kind: w.Kind, Step: w.Step, Reason: w.Reason, Err: sentinel}
	}
	if sentinel != nil {
		return &RemoteError{Message: w.Message, err: sentinel}
	}
	return &RemoteError{Message: w.Message}
}

// RemoteError is an error the daemon returned that is not a refusal (for
// example, deleting a withdrawn recording failed).
type RemoteError struct {
	Message string
	err     error
}

func (e *RemoteError) Error() string { return "daemon: " + e.Message }
func (e *RemoteError) Unwrap() error { return e.err }
