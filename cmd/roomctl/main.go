// Command roomctl is the admin tool: keys, PIN hashes, bucket and room
// provisioning, sessions, pulls and fleet status. Pure Go (CGO_ENABLED=0).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "roomctl: not implemented yet")
	os.Exit(1)
}
