package screentest

import (
	"os"
	"testing"
)

func TestProcFigures(t *testing.T) {
	pid := os.Getpid()
	cpu, err := CPUTime(pid)
	if err != nil || cpu < 0 {
		t.Fatalf("cpu %v, %v", cpu, err)
	}
	m, err := Memory(pid)
	if err != nil || m.RSS <= 0 || m.Peak < m.RSS || m.Anon <= 0 || m.Anon > m.RSS {
		t.Fatalf("memory %+v, %v", m, err)
	}
}

// TestSyncBufferConcurrent: the process output is written by exec's copying
// goroutine while WaitFor and Output read it (findings F4; run with -race).
func TestSyncBufferConcurrent(t *testing.T) {
	var b syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			_, _ = b.Write([]byte("line\n"))
		}
	}()
	for range 100 {
		_ = b.String()
	}
	<-done
	if got := len(b.String()); got != 5000 {
		t.Errorf("buffered %d bytes, want 5000", got)
	}
}
