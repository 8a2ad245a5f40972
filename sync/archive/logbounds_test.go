package archive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
)

// repeated streams line again and again, n bytes in all.
func repeated(line string, n int64) func() io.Reader {
	return func() io.Reader {
		return io.LimitReader(&repeatReader{b: []byte(line)}, n)
	}
}

type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

func memArchive(t *testing.T, mem *memS3) *archive.Archive {
	srv := httptest.NewServer(mem)
	t.Cleanup(srv.Close)
	cl, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4("k", "s", ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return &archive.Archive{Client: cl, Bucket: "logs"}
}

// TestCheckLogBounds reads the hostile logs of issue 21 and checks the
// reader's stated bounds (archive.CheckLogReport): a 4 MiB line of
// {},{},... (1.4 million results once parsed) is skipped unparsed, and 30
// days of 64 MiB each (1.9 GiB) stop at the line budget with the heap
// under 256 MiB, streamed from a bucket that holds none of it.
func TestCheckLogBounds(t *testing.T) {
	day0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := day0.AddDate(0, 0, 31)
	mem := &memS3{objs: map[string][]memVersion{}}
	ar := memArchive(t, mem)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("4 MiB line", func(t *testing.T) {
		good := fmt.Sprintf(`{"at":%q,"kind":"run","results":[{"name":"temperature","value":"21 °C"}]}`+"\n", day0.Add(time.Hour).Format(time.RFC3339))
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"at":%q,"kind":"run","results":[`, day0.Add(2*time.Hour).Format(time.RFC3339))
		b.WriteString(strings.Repeat("{},", 4<<20/3))
		b.WriteString("{}]}\n")
		mem.put(layout.LogDayKey("301", day0), []byte(good+b.String()+good))
		rep, err := ar.CheckLogReport(ctx, "301", day0, day0.AddDate(0, 0, 1), now)
		if err != nil || len(rep.Lines) != 2 || rep.Skipped != 1 {
			t.Fatalf("%v: %d lines, %d skipped", err, len(rep.Lines), rep.Skipped)
		}
	})

	t.Run("30 days of 64 MiB", func(t *testing.T) {
		for d := range 30 {
			day := day0.AddDate(0, 0, d)
			line := fmt.Sprintf(`{"at":%q,"kind":"run","results":[{"name":"temperature","value":"21 °C"}]}`+"\n", day.Add(time.Hour).Format(time.RFC3339))
			size := int64(64<<20) / int64(len(line)) * int64(len(line))
			mem.mu.Lock()
			mem.objs[layout.LogDayKey("302", day)] = []memVersion{{id: "v1", at: day.Add(25 * time.Hour), gen: repeated(line, size), size: size}}
			mem.mu.Unlock()
		}
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // sample the heap while the read runs
			defer wg.Done()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		rep, err := ar.CheckLogReport(ctx, "302", day0, day0.AddDate(0, 0, 30), now)
		close(stop)
		wg.Wait()
		if err != nil || !rep.Truncated || len(rep.Lines) == 0 || len(rep.Lines) > 100_000 {
			t.Fatalf("%v: %d lines, truncated %v", err, len(rep.Lines), rep.Truncated)
		}
		if peak > 256<<20 {
			t.Fatalf("heap in use reached %d MiB, bound 256 MiB", peak>>20)
		}
		t.Logf("%d lines kept, heap in use at most %d MiB", len(rep.Lines), peak>>20)
	})
}
