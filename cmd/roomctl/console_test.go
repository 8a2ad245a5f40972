package main

import (
	"strings"
	"testing"
)

// TestConsoleUsage: the console refuses to serve session data off loopback
// without TLS, and needs the identity. (The pages themselves are tested in
// a real browser by sync/console's TestBrowser, against this binary.)
func TestConsoleUsage(t *testing.T) {
	env := map[string]string{"ROOMCTL_ENDPOINT": "http://127.0.0.1:1", "ROOMCTL_ACCESS_KEY": "a", "ROOMCTL_SECRET_KEY": "s", "ROOMCTL_BUCKET": "b"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"console"}, "missing -i IDENTITY"},
		{[]string{"console", "-i", "k", "--listen", "0.0.0.0:8070"}, "not a loopback address: it needs --tls-cert and --tls-key"},
		{[]string{"console", "-i", "k", "--listen", "192.168.1.5:8070", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"console", "-i", "k", "--listen", "nowhere"}, "--listen"},
		{[]string{"console", "-i", "k", "extra"}, "want 0 argument(s)"},
	} {
		r := runT(t, env, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, r.code, exitUsage, tc.want, r.stderr)
		}
	}
}
