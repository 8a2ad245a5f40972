package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProcCPU is the CPU time every live thread of process pid has used so far,
// from /proc/PID/task/*/schedstat (nanoseconds, unlike /proc/PID/stat's 10 ms
// ticks: a recorder uses a few ticks a second). A thread that exited between
// two readings is not counted in the later one.
func ProcCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("read cpu time of %d: no tasks", pid)
	}
	var sum int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu time of %d: bad %s", pid, p)
		}
		sum += ns
	}
	return time.Duration(sum), nil
}

// ProcSwitches is the number of context switches (voluntary and not) of every
// live thread of process pid so far: how often it woke.
func ProcSwitches(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("read context switches of %d: no tasks", pid)
	}
	var sum int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				sum += n
			}
		}
	}
	return sum, nil
}

// ProcIO is a process's storage I/O from /proc/PID/io: WriteBytes is what it
// caused to be sent to the block layer (the disk, not the page cache),
// WChar what it passed to write calls.
type ProcIO struct {
	WriteBytes int64
	WChar      int64
	ReadBytes  int64
}

// ReadProcIO reads /proc/PID/io.
func ReadProcIO(pid int) (ProcIO, error) {
	var io ProcIO
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return io, fmt.Errorf("read io counters: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "write_bytes":
			io.WriteBytes = n
		case "wchar":
			io.WChar = n
		case "read_bytes":
			io.ReadBytes = n
		}
	}
	return io, nil
}

// LoadAvg is /proc/loadavg's first three fields, to note beside a figure
// measured on a shared machine.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Median of durations (the lower middle one for an even count); 0 for none.
func Median[T ~int64 | ~float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := append([]T(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}
