//go:build qemu

package qemutest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
)

// TestQEMUGPIO boots the guest as init, waits for READY, presses the VM's
// power button (QEMU pulses PL061 line 3 high for 100 ms), and expects the
// guest's debounced door to report open then closed.
func TestQEMUGPIO(t *testing.T) {
	qemu := testenv.Tool(t, "qemu-system-aarch64")
	kernel := os.Getenv("ROOMKIOSK_ARM64_KERNEL")
	if kernel == "" {
		testenv.Missing(t, "ROOMKIOSK_ARM64_KERNEL (an arm64 kernel image; fetch-kernel.sh prints one)")
	}
	dir := t.TempDir()
	initBin := filepath.Join(dir, "init")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), initBin, []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, "./hardware/periphboard/qemutest/guest"); err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(initrd, initBin); err != nil {
		t.Fatal(err)
	}
	mon := filepath.Join(dir, "monitor.sock")
	cmd := exec.Command(qemu, "-M", "virt", "-cpu", "cortex-a53", "-m", "256", "-smp", "1",
		"-display", "none", "-serial", "stdio", "-monitor", "unix:"+mon+",server=on,wait=off",
		"-no-reboot", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyAMA0 rdinit=/init panic=-1 quiet")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	timeout := time.After(3 * time.Minute) // software emulation on a busy 2-core machine
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("VM stopped before PASS")
			}
			t.Log("guest:", l)
			switch {
			case l == "READY":
				if err := monitor(mon, "system_powerdown"); err != nil {
					t.Fatal(err)
				}
			case l == "PASS":
				return
			case strings.HasPrefix(l, "FAIL"):
				t.Fatal(l)
			}
		case <-timeout:
			t.Fatal("no PASS from the guest within 3 minutes")
		}
	}
}

func monitor(sock, command string) error {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return fmt.Errorf("qemu monitor: %w", err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return fmt.Errorf("qemu monitor: %w", err)
	}
	time.Sleep(200 * time.Millisecond) // let the monitor read it before we hang up
	return nil
}

// writeInitramfs writes a newc cpio archive holding /dev, /sys and /init.
func writeInitramfs(path, initBin string) error {
	body, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ino := 1
	add := func(name string, mode uint32, data []byte) error {
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		buf := append([]byte(hdr), name...)
		buf = append(buf, 0)
		for len(buf)%4 != 0 {
			buf = append(buf, 0)
		}
		buf = append(buf, data...)
		for len(buf)%4 != 0 {
			buf = append(buf, 0)
		}
		_, err := f.Write(buf)
		return err
	}
	for _, e := range []struct {
		name string
		mode uint32
		data []byte
	}{
		{"dev", 0o40755, nil},
		{"sys", 0o40755, nil},
		{"init", 0o100755, body},
		{"TRAILER!!!", 0, nil},
	} {
		if err := add(e.name, e.mode, e.data); err != nil {
			return err
		}
	}
	return f.Sync()
}
