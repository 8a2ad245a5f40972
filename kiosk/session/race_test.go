//go:build race

package session_test

// raceEnabled: under the race detector every process of the kill test runs
// several times slower, so it kills fewer (make test-arm64's -short too);
// the full run (go test without -race) checks every step is covered.
const raceEnabled = true
