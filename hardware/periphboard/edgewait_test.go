package periphboard

import "time"

// The fake pins' WaitForEdge cannot be interrupted by Halt: a short bound
// keeps Close quick, and the missed-edge reconciliation testable.
func init() { edgeWait = 250 * time.Millisecond }
