//go:build race

package session_test

// raceEnabled: under the race detector every process of the kill test runs
// several times slower, so it kills fewer (each step still several times).
const raceEnabled = true
