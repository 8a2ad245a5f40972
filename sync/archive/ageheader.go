package archive

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// The age v1 header (age-encryption.org/v1): an intro line, one stanza per
// recipient ("-> type args" and its body in base64, 64 columns a line), and
// a footer "--- " + base64(HMAC-SHA256(HKDF-SHA256(file key, "header"),
// everything up to and including "---")). The payload's key comes from the
// file key and the nonce after the header, never from the header's bytes:
// so a new header that wraps the same file key for another recipient, with
// the MAC recomputed, opens the same payload. filippo.io/age exposes the
// unwrapping (DecryptHeader) but not the writing of such a header; this is
// its format (internal/format in age v1.3.1), checked against age itself in
// the tests.
const (
	ageIntro = "age-encryption.org/v1\n"
	// maxAgeHeader bounds a header read from the bucket (a stanza per
	// recipient is about 100 bytes; manifests allow 64 recipients).
	maxAgeHeader = 64 << 10
	// headerProbe is the first range read of a segment's header: a header
	// to a handful of recipients fits several times over.
	headerProbe = 2 << 10
)

var b64 = base64.RawStdEncoding.Strict()

// errNoHeaderEnd: the bytes hold no complete header (read more).
var errNoHeaderEnd = errors.New("age header: no end in the bytes read")

// headerLength returns the length of the age header that b begins with
// (up to and including the footer's newline).
func headerLength(b []byte) (int, error) {
	if !bytes.HasPrefix(b, []byte(ageIntro)) {
		if len(b) < len(ageIntro) && bytes.HasPrefix([]byte(ageIntro), b) {
			return 0, errNoHeaderEnd
		}
		return 0, errors.New("age header: not an age v1 file")
	}
	off := len(ageIntro)
	for {
		nl := bytes.IndexByte(b[off:], '\n')
		if nl < 0 {
			if len(b) >= maxAgeHeader {
				return 0, fmt.Errorf("age header: longer than %d bytes", maxAgeHeader)
			}
			return 0, errNoHeaderEnd
		}
		line := b[off : off+nl]
		off += nl + 1
		if bytes.HasPrefix(line, []byte("--- ")) {
			return off, nil
		}
		if bytes.HasPrefix(line, []byte("---")) || off > maxAgeHeader {
			return 0, errors.New("age header: malformed footer")
		}
	}
}

// rewrapHeader unwraps the file key of hdr (a whole age header) with ids
// and returns a new header that wraps the same key to recipients only.
func rewrapHeader(hdr []byte, ids []age.Identity, recipients ...age.Recipient) ([]byte, error) {
	fileKey, err := age.DecryptHeader(hdr, ids...)
	if err != nil {
		return nil, fmt.Errorf("unwrap the file key: %w", err)
	}
	defer clear(fileKey)
	var buf bytes.Buffer
	buf.WriteString(ageIntro)
	for i, r := range recipients {
		stanzas, err := r.Wrap(fileKey)
		if err != nil {
			return nil, fmt.Errorf("wrap the file key for recipient %d: %w", i, err)
		}
		for _, s := range stanzas {
			marshalStanza(&buf, s)
		}
	}
	buf.WriteString("---")
	macKey, err := hkdf.Key(sha256.New, fileKey, nil, "header", 32)
	if err != nil {
		return nil, fmt.Errorf("header mac key: %w", err)
	}
	mac := hmac.New(sha256.New, macKey)
	mac.Write(buf.Bytes())
	buf.WriteString(" " + b64.EncodeToString(mac.Sum(nil)) + "\n")
	// age parses and authenticates what was written: the MAC is checked
	// with the file key itself, before anything is stored.
	check, err := age.DecryptHeader(buf.Bytes(), age.NewInjectedFileKeyIdentity(fileKey))
	if err != nil || !bytes.Equal(check, fileKey) {
		return nil, fmt.Errorf("the new header does not verify: %v", err)
	}
	return buf.Bytes(), nil
}

// marshalStanza writes a stanza as age does: "-> type args...\n", then its
// body in unpadded base64 wrapped at 64 columns, the last line always
// shorter than 64 (so possibly empty).
func marshalStanza(w *bytes.Buffer, s *age.Stanza) {
	w.WriteString("->")
	for _, a := range append([]string{s.Type}, s.Args...) {
		w.WriteString(" " + a)
	}
	w.WriteString("\n")
	body := b64.EncodeToString(s.Body)
	for len(body) >= 64 {
		w.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	w.WriteString(body + "\n")
}

// splicedReader reads a segment file with its own header replaced by hdr:
// the original payload (nonce and chunks) after the granted header.
func splicedReader(f io.ReadSeeker, hdr []byte) (io.Reader, error) {
	probe := make([]byte, maxAgeHeader)
	n, err := io.ReadFull(f, probe)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	hl, err := headerLength(probe[:n])
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(int64(hl), io.SeekStart); err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(hdr), f), nil
}
