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
