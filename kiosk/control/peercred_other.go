//go:build !linux

package control

import (
	"errors"
	"net"
)

type ucred struct{ pid, uid, gid int }

// The daemon runs on Linux; elsewhere every peer is refused.
func peerCred(*net.UnixConn) (ucred, error) {
	return ucred{}, errors.New("peer credentials: only supported on linux")
}

func supplementaryGroups(int) ([]int, error) { return nil, errors.New("not supported") }
