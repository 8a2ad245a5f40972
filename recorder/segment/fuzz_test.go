package segment

import (
	"bytes"
	"io"
	"testing"

	"filippo.io/age"
)

// FuzzOpen: any bytes offered as a segment either open into a valid header
// and a reader whose output is authenticated plaintext, or fail; Open never
// panics and never reads more than it is given. The seeds are a real
// segment (so the fuzzer mutates inside a valid age stream) and garbage.
func FuzzOpen(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), id.Recipient())
	if err != nil {
		f.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte{1, 2}, 40000))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("age-encryption.org/v1\n-> X25519 x\n--- y\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, r, err := Open(bytes.NewReader(b), id)
		if err != nil {
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("Open accepted an invalid header: %v", err)
		}
		n, _ := io.Copy(io.Discard, r)
		if n > int64(len(b)) {
			t.Fatalf("%d bytes of plaintext from %d of ciphertext", n, len(b))
		}
	})
}
