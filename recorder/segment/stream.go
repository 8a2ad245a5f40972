package segment

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// ChunkSize is age's plaintext chunk size; ChunkOverhead is what each chunk
// adds in ciphertext (the Poly1305 tag). A chunk reaches the file only once
// it is full (or at Close), so a power cut loses at most one chunk.
const (
	ChunkSize     = 64 << 10
	ChunkOverhead = 16
	nonceSize     = 16
)

// Writer encrypts one segment: the header, then PCM as it is written.
// It adds no buffering of its own: each age chunk goes to dst in one Write
// as soon as it is full, and CipherBytes tells the caller when to fsync.
type Writer struct {
	w      io.WriteCloser
	dst    countingWriter
	pcm    int64
	closed bool
	header Header
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter writes the age header and starts the segment's plaintext with h.
func NewWriter(dst io.Writer, h Header, recipients ...age.Recipient) (*Writer, error) {
	hb, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sw := &Writer{header: h}
	sw.dst.w = dst
	sw.w, err = age.Encrypt(&sw.dst, recipients...)
	if err != nil {
		return nil, fmt.Errorf("start age stream: %w", err)
	}
	if _, err := sw.w.Write(hb); err != nil {
		return nil, fmt.Errorf("write segment header: %w", err)
	}
	return sw, nil
}

// Write encrypts PCM. It does not retain p.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.pcm += int64(n)
	return n, err
}

// Close writes the final (marked) chunk. It does not close dst.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.w.Close()
}

// Header returns the segment's header.
func (w *Writer) Header() Header { return w.header }

// PCMBytes is the PCM written so far (not counting the header).
func (w *Writer) PCMBytes() int64 { return w.pcm }

// Frames is the number of whole frames written so far.
func (w *Writer) Frames() int64 { return w.pcm / int64(w.header.FrameBytes()) }

// CipherBytes is what has reached dst so far.
func (w *Writer) CipherBytes() int64 { return w.dst.n }

// ErrTruncated is matched (errors.Is) by the error that ends the PCM of a
// segment whose stream stops before its final chunk: a *.part sealed after a
// power cut or crash. All PCM delivered before it is authenticated.
var ErrTruncated = errors.New("segment truncated before its final chunk")

// ErrCorrupt is matched when a chunk fails authentication before the end of
// the ciphertext: the file was damaged or tampered with.
var ErrCorrupt = errors.New("segment chunk failed authentication")

// EndError says how a segment's PCM ended when it did not end cleanly.
type EndError struct {
	// PCMBytes is the authenticated PCM delivered before the end.
	PCMBytes int64
	// Torn is true when the ciphertext ends inside a chunk (a write cut
	// short); false when it ends on a chunk boundary.
	Torn bool
	// Corrupt is true when a chunk failed authentication and more
	// ciphertext followed it.
	Corrupt bool
}

func (e *EndError) Error() string {
	switch {
	case e.Corrupt:
		return fmt.Sprintf("segment: chunk failed authentication after %d PCM bytes (damaged or tampered)", e.PCMBytes)
	case e.Torn:
		return fmt.Sprintf("segment truncated inside a chunk after %d authenticated PCM bytes", e.PCMBytes)
	}
	return fmt.Sprintf("segment truncated on a chunk boundary after %d authenticated PCM bytes", e.PCMBytes)
}

// Is lets callers test with errors.Is(err, ErrTruncated) / ErrCorrupt.
func (e *EndError) Is(target error) bool {
	if e.Corrupt {
		return target == ErrCorrupt
	}
	return target == ErrTruncated
}

type eofTracker struct {
	r   io.Reader
	eof bool
}

func (t *eofTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

type pcmReader struct {
	r   io.Reader
	src *eofTracker
	n   int64
	err error
}

func (p *pcmReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err != nil {
		p.err = p.classify(err)
		if n > 0 {
			return n, nil
		}
		return 0, p.err
	}
	return n, nil
}

func (p *pcmReader) classify(err error) error {
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &EndError{PCMBytes: p.n}
	case strings.Contains(err.Error(), "failed to decrypt and authenticate") && p.src.eof:
		// age tried the short tail as the final chunk and it did not
		// authenticate: the write of that chunk was cut short.
		return &EndError{PCMBytes: p.n, Torn: true}
	case strings.Contains(err.Error(), "failed to decrypt and authenticate"):
		return &EndError{PCMBytes: p.n, Corrupt: true}
	}
	return fmt.Errorf("read segment: %w", err)
}

// Open decrypts a segment with one of ids and parses its header. The reader
// yields raw PCM (S16LE, interleaved) and ends with io.EOF for a complete
// segment, or with an *EndError (errors.Is ErrTruncated or ErrCorrupt) after
// the authenticated prefix of a partial one. If the stream is cut before the
// first chunk (which holds the header) is complete, Open itself fails with an
// error matching ErrTruncated.
func Open(ciphertext io.Reader, ids ...age.Identity) (Header, io.Reader, error) {
	src := &eofTracker{r: ciphertext}
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		if src.eof {
			return Header{}, nil, fmt.Errorf("open segment: %w (%v)", ErrTruncated, err)
		}
		return Header{}, nil, fmt.Errorf("open segment: %w", err)
	}
	pr := &pcmReader{r: r, src: src}
	hb := make([]byte, HeaderSize)
	if _, err := io.ReadFull(pr, hb); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Header{}, nil, fmt.Errorf("open segment: plaintext shorter than its header: %w", ErrHeader)
		}
		return Header{}, nil, fmt.Errorf("open segment header: %w", err)
	}
	h, err := ParseHeader(hb)
	if err != nil {
		return Header{}, nil, fmt.Errorf("open segment: %w", err)
	}
	pr.n = 0
	return h, pr, nil
}

// PCMSize tells, without any key, how much PCM a segment file holds:
// for a complete (sealed) stream the exact PCM size; for a partial one
// (complete=false) the authenticated prefix that full chunks hold. It reads
// the age header from r to learn where the payload starts.
func PCMSize(r io.Reader, cipherSize int64, complete bool) (int64, error) {
	hdr, err := age.ExtractHeader(r)
	if err != nil {
		return 0, fmt.Errorf("read age header: %w", err)
	}
	payload := cipherSize - int64(len(hdr)) - nonceSize
	if payload < 0 {
		return 0, nil
	}
	const enc = ChunkSize + ChunkOverhead
	var plain int64
	if complete {
		chunks := (payload + enc - 1) / enc
		if chunks == 0 {
			return 0, errors.New("complete segment has no payload chunk")
		}
		plain = payload - chunks*ChunkOverhead
	} else {
		plain = payload / enc * ChunkSize
	}
	return max(plain-HeaderSize, 0), nil
}
