package archive

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// bodyRecipient wraps a file key into a stanza whose body has a chosen
// length, to check the stanza writer at every line-wrapping edge.
type bodyRecipient struct{ n int }

func (r bodyRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	return []*age.Stanza{{Type: "test", Args: []string{"a", "b"}, Body: bytes.Repeat([]byte{7}, r.n)}}, nil
}

// TestRewrapHeader: a header written here for the same file key is one age
// itself parses and authenticates, at every body length around the 64
// column wrap; with an X25519 recipient, it decrypts the original payload.
func TestRewrapHeader(t *testing.T) {
	escrow, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	var file bytes.Buffer
	w, err := age.Encrypt(&file, escrow.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("session audio "), 10000)
	w.Write(plain)
	w.Close()
	hl, err := headerLength(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	hdr := file.Bytes()[:hl]
	fileKey, err := age.DecryptHeader(hdr, escrow)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 32, 47, 48, 49, 95, 96, 97, 200} {
		nh, err := rewrapHeader(hdr, []age.Identity{escrow}, bodyRecipient{n})
		if err != nil {
			t.Fatalf("body %d: %v", n, err)
		}
		if got, err := age.DecryptHeader(nh, age.NewInjectedFileKeyIdentity(fileKey)); err != nil || !bytes.Equal(got, fileKey) {
			t.Fatalf("body %d: age refuses the header: %v", n, err)
		}
		if l, err := headerLength(nh); err != nil || l != len(nh) {
			t.Fatalf("body %d: header length %d of %d: %v", n, l, len(nh), err)
		}
	}
	nh, err := rewrapHeader(hdr, []age.Identity{escrow}, other.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	r, err := splicedReader(bytes.NewReader(file.Bytes()), nh)
	if err != nil {
		t.Fatal(err)
	}
	d, err := age.Decrypt(r, other)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("spliced file: %v, equal %v", err, bytes.Equal(got, plain))
	}
	// The escrow identity no longer opens the granted header, and a header
	// with its MAC altered is refused.
	if _, err := age.DecryptHeader(nh, escrow); err == nil {
		t.Fatal("the granted header opens for escrow")
	}
	bad := bytes.Replace(nh, []byte("--- "), []byte("--- A"), 1)
	if _, err := age.DecryptHeader(bad, other); err == nil {
		t.Fatal("a header with a broken MAC was accepted")
	}
	if _, err := rewrapHeader(hdr, []age.Identity{other}, other.Recipient()); err == nil {
		t.Fatal("rewrapped without an identity that opens the header")
	}
	for _, in := range []string{"", "age-enc", "age-encryption.org/v1\n-> X25519 abc\n", "not age\n--- x\n", "age-encryption.org/v1\n---x\n"} {
		if _, err := headerLength([]byte(in)); err == nil {
			t.Errorf("headerLength(%q) found a header", in)
		}
	}
	if _, err := headerLength([]byte("age-encryption.org/v1\n" + strings.Repeat("A", maxAgeHeader))); err == nil || err == errNoHeaderEnd {
		t.Errorf("an endless header: %v", err)
	}
}
