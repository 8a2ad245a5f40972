//go:build linux

// Command guest is the init process of a tiny arm64 VM (qemu-system-aarch64
// -M virt) that exercises periph's GPIO character-device path on a real
// kernel driver (the PL061 controller): the door switch code on line 3,
// which QEMU pulses when its monitor says system_powerdown, and the on-air
// light on line 0. It prints READY, EDGE open/closed, and PASS or FAIL on the
// console, then powers the VM off. The qemu-tagged test in the parent folder
// builds it, boots it and drives it.
package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"

	"roomkiosk/hardware/periphboard"
)

func main() {
	// It mounts over /dev and powers the machine off: never as anything
	// but a VM's init.
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "guest: this is the init of the GPIO test VM; it runs only as pid 1")
		os.Exit(2)
	}
	err := run()
	if err != nil {
		fmt.Printf("FAIL: %v\n", err)
	} else {
		fmt.Println("PASS")
	}
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

func run() error {
	os.MkdirAll("/dev", 0o755)
	if err := syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	os.MkdirAll("/sys", 0o755)
	syscall.Mount("sysfs", "/sys", "sysfs", 0, "")

	st, err := host.Init()
	if err != nil {
		return fmt.Errorf("host init: %w", err)
	}
	for _, d := range st.Loaded {
		fmt.Println("driver loaded:", d)
	}
	if len(gpioioctl.Chips) == 0 {
		return fmt.Errorf("no GPIO chip registered by periph")
	}
	chip := gpioioctl.Chips[0]
	fmt.Printf("chip %s (%s), %d lines\n", chip.Name(), chip.Label(), chip.LineCount())

	// The PL061's lines have no names in the device tree, so take them by
	// number (on a Pi they are named "GPIO17" and found through gpioreg).
	led, err := periphboard.NewOnAir(chip.ByNumber(0))
	if err != nil {
		return err
	}
	if err := led.Set(true); err != nil {
		return err
	}
	if !led.On() {
		return fmt.Errorf("on-air light did not switch on")
	}
	if err := led.Set(false); err != nil {
		return err
	}

	log := zerolog.New(os.Stdout)
	door, err := periphboard.NewDoor(chip.ByNumber(3), 20*time.Millisecond, clockwork.NewRealClock(), log)
	if err != nil {
		return err
	}
	defer door.Close()
	closed, _ := door.Closed()
	fmt.Printf("door closed at start: %v\n", closed)
	if !closed {
		return fmt.Errorf("line 3 reads high at start, want low (closed)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	edges := door.Watch(ctx)
	fmt.Println("READY")
	var seen []string
	for e := range edges {
		word := "closed"
		if e.Open {
			word = "open"
		}
		fmt.Println("EDGE", word)
		seen = append(seen, word)
		if len(seen) == 2 {
			break
		}
	}
	if len(seen) != 2 || seen[0] != "open" || seen[1] != "closed" {
		return fmt.Errorf("door edges %v, want [open closed]", seen)
	}
	return nil
}
