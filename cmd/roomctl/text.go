package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"roomkiosk/sync/admin"
)

// esc makes a string that came from the bucket safe to print as text: a
// device (or a thief holding one) chooses what is in its objects and in its
// keys, and an escape sequence reaching the admin's terminal can clear the
// screen, retitle the window or hide text. Every control character (C0,
// DEL, C1), every bidirectional override and every invalid byte is written
// as a Go escape (\x1b, \u202e), and so are tabs and newlines, which would
// forge table rows. Printable text, accents and CJK included, passes as is.
func esc(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// unsafeRune reports control characters and the invisible format
// characters that reorder or hide text.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u200b' || r == '\u2028' || r == '\u2029' || r == '\ufeff'
}

// escAll escapes each string.
func escAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = esc(s)
	}
	return out
}

// plainHTTPWarning returns a warning for an endpoint that sends the admin
// credentials and the recordings in clear over a network: plain http to a
// host that is not loopback. "" when there is nothing to say.
func plainHTTPWarning(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return ""
	}
	host := u.Hostname()
	if host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("warning: endpoint %s is plain http to a host that is not loopback: admin credentials and recordings cross the network unencrypted; use https", esc(endpoint))
}

// cacheDir is where sessions keeps the record versions it read, per server
// and bucket: $ROOMCTL_CACHE_DIR, else the user's cache folder; "" (no
// cache) when ROOMCTL_CACHE_DIR is "off" or there is no such folder.
func (a *app) cacheDir(c admin.Conn) string {
	base := a.getenv("ROOMCTL_CACHE_DIR")
	if base == "off" {
		return ""
	}
	if base == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(d, "roomctl")
	}
	h := sha256.Sum256([]byte(c.Endpoint + "\x00" + c.Bucket))
	return filepath.Join(base, hex.EncodeToString(h[:8]))
}
