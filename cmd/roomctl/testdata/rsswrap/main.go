// Command rsswrap runs a program and prints its peak resident memory in
// kilobytes on the last line of standard error. A test cannot measure its
// own child's peak: the kernel counts the parent's memory in a child made by
// vfork, and a test holding a large fixture would measure itself. This
// small program's memory is what gets counted instead.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(os.Stderr, "\nmaxrss_kb %d\n", ru.Maxrss)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
