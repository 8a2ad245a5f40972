package control

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type ucred struct{ pid, uid, gid int }

func peerCred(conn *net.UnixConn) (ucred, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return ucred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var uc *unix.Ucred
	var cerr error
	err = raw.Control(func(fd uintptr) {
		uc, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return ucred{}, fmt.Errorf("peer credentials: %w", err)
	}
	return ucred{pid: int(uc.Pid), uid: int(uc.Uid), gid: int(uc.Gid)}, nil
}

// supplementaryGroups reads the "Groups:" line of /proc/<pid>/status; the
// kernel gives SO_PEERCRED only the primary group.
func supplementaryGroups(pid int) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("supplementary groups: %w", err)
	}
	defer f.Close()
	return parseGroups(f)
}

func parseGroups(f interface{ Read([]byte) (int, error) }) ([]int, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []int
		for _, field := range strings.Fields(rest) {
			g, err := strconv.Atoi(field)
			if err != nil {
				return nil, fmt.Errorf("supplementary groups: bad gid %q", field)
			}
			out = append(out, g)
		}
		return out, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("supplementary groups: %w", err)
	}
	return nil, fmt.Errorf("supplementary groups: no Groups line")
}
