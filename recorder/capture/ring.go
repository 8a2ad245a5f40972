package capture

// The audio thread's side of capture, in C: miniaudio's audio thread calls
// rkOnData once a period, which copies the frames into a ring and wakes Go
// (one byte into a pipe) only once a hand-over's worth has gathered. The
// thread never enters Go: a cgo callback a period was most of what capture
// cost (each one wakes the runtime's sysmon, which then hands the callback's
// P to a spinning M: three thread wake-ups a period where arecord has one).
// Go reads the ring without cgo calls (its memory and counters are read
// with sync/atomic), so a hand-over costs one wake-up of the netpoller.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// rkDeviceHead is the head of miniaudio's struct ma_device as malgo
// v0.11.24 vendors it (miniaudio.h: pContext, type, sampleRate, state,
// onData, onNotification, onStop, pUserData). rkAttach checks it against the
// device it is given before it writes anything.
typedef struct {
	void*    pContext;
	int      type;
	uint32_t sampleRate;
	uint32_t state;
	void   (*onData)(void*, void*, const void*, uint32_t);
	void*    onNotification;
	void*    onStop;
	void*    pUserData;
} rkDeviceHead;

typedef struct {
	uint8_t* buf;
	uint64_t size;     // bytes, whole frames
	uint64_t wr;       // bytes written: the audio thread stores, Go loads
	uint64_t rd;       // bytes read: Go stores, the audio thread loads
	uint64_t overruns; // frames dropped because the ring was full
	uint32_t lost;     // set once the device ran ahead of the clock
	int32_t  fd;       // write end of the wake-up pipe (non-blocking)
	uint64_t notify;   // bytes gathered between wake-ups of Go
	uint64_t notified; // wr at the last wake-up; audio thread only
	uint32_t frame;    // bytes per frame
	uint32_t rate;
	int64_t  lastNS;   // leaky bucket, audio thread only: previous call
	int64_t  ahead;    // frames delivered ahead of the real clock
	int64_t  maxAhead;
} rkRing;

static void rkWake(rkRing* r) {
	char c = 1;
	ssize_t n = write(r->fd, &c, 1); // a full pipe already holds a wake-up
	(void)n;
}

// rkOnData is miniaudio's data callback (ma_device_data_proc): it never
// blocks and never allocates.
static void rkOnData(void* dev, void* out, const void* in, uint32_t frames) {
	rkRing* r = ((rkDeviceHead*)dev)->pUserData;
	(void)out;
	if (__atomic_load_n(&r->lost, __ATOMIC_ACQUIRE) || in == NULL) {
		return;
	}
	// A device whose frames run ahead of the real clock is broken: ALSA's
	// file plugin at end of input (and a device with a broken clock)
	// delivers frames as fast as they can be read. A leaky bucket: frames
	// in, real time out; a normal device keeps it under its buffer, a
	// runaway fills it at once.
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (r->lastNS != 0) {
		r->ahead -= (now - r->lastNS) * (int64_t)r->rate / 1000000000LL;
		if (r->ahead < 0) {
			r->ahead = 0;
		}
	}
	r->lastNS = now;
	r->ahead += frames;
	if (r->ahead > r->maxAhead) {
		__atomic_store_n(&r->lost, 1, __ATOMIC_RELEASE);
		rkWake(r);
		return;
	}
	uint64_t n = (uint64_t)frames * r->frame;
	uint64_t wr = r->wr;
	uint64_t space = r->size - (wr - __atomic_load_n(&r->rd, __ATOMIC_ACQUIRE));
	if (n > space) {
		__atomic_add_fetch(&r->overruns, (n - space) / r->frame, __ATOMIC_RELAXED);
		n = space;
	}
	const uint8_t* src = in;
	uint64_t off = wr % r->size;
	uint64_t first = n < r->size - off ? n : r->size - off;
	memcpy(r->buf + off, src, first);
	memcpy(r->buf, src + first, n - first);
	wr += n;
	__atomic_store_n(&r->wr, wr, __ATOMIC_RELEASE);
	if (wr - r->notified >= r->notify) {
		r->notified = wr;
		rkWake(r);
	}
}

// rkAttach makes rkOnData the device's data callback, before it starts.
// The device must be the capture device (type 2) of rate that was
// initialised with r as its user data; anything else means the struct's
// layout is not the one above, and nothing is written.
static int rkAttach(void* dev, rkRing* r, uint32_t rate) {
	rkDeviceHead* h = dev;
	if (h->pUserData != r || h->type != 2 || h->sampleRate != rate || h->onData == NULL) {
		return -1;
	}
	h->onData = rkOnData;
	return 0;
}
*/
import "C"

import (
	"errors"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// ring is the C ring between the audio thread and the pump goroutine.
type ring struct {
	c    *C.rkRing
	buf  []byte // the C buffer
	wr   *uint64
	rd   *uint64
	over *uint64
	lost *uint32
}

// newRing allocates size bytes (whole frames) in C memory, out of reach of
// Go's collector, as the audio thread needs.
func newRing(size, notify, frame, rate int, maxAhead int64, fd int) *ring {
	c := (*C.rkRing)(C.calloc(1, C.size_t(unsafe.Sizeof(C.rkRing{}))))
	c.buf = (*C.uint8_t)(C.malloc(C.size_t(size)))
	c.size = C.uint64_t(size)
	c.notify = C.uint64_t(notify)
	c.frame = C.uint32_t(frame)
	c.rate = C.uint32_t(rate)
	c.maxAhead = C.int64_t(maxAhead)
	c.fd = C.int32_t(fd)
	return &ring{
		c:    c,
		buf:  unsafe.Slice((*byte)(unsafe.Pointer(c.buf)), size),
		wr:   (*uint64)(unsafe.Pointer(&c.wr)),
		rd:   (*uint64)(unsafe.Pointer(&c.rd)),
		over: (*uint64)(unsafe.Pointer(&c.overruns)),
		lost: (*uint32)(unsafe.Pointer(&c.lost)),
	}
}

func (r *ring) userData() *byte { return (*byte)(unsafe.Pointer(r.c)) }

// attach makes the ring the device's data callback. Called before Start.
func (r *ring) attach(dev *malgo.Device, rate int) error {
	// malgo.Device keeps miniaudio's ma_device behind an unexported
	// pointer; its shape is checked before it is read.
	f, ok := reflect.TypeOf(malgo.Device{}).FieldByName("ptr")
	if !ok || f.Offset != 0 || f.Type != reflect.TypeOf((*unsafe.Pointer)(nil)) {
		return errors.New("malgo.Device is not the pinned version's (want its first field ptr *unsafe.Pointer)")
	}
	p := *(**unsafe.Pointer)(unsafe.Pointer(dev))
	if p == nil || *p == nil {
		return errors.New("malgo.Device holds no device")
	}
	if C.rkAttach(*p, r.c, C.uint32_t(rate)) != 0 {
		return errors.New("miniaudio's ma_device is not the pinned version's (user data, type or rate not where expected)")
	}
	return nil
}

func (r *ring) isLost() bool      { return atomic.LoadUint32(r.lost) != 0 }
func (r *ring) overruns() uint64  { return atomic.LoadUint64(r.over) }
func (r *ring) written() uint64   { return atomic.LoadUint64(r.wr) }
func (r *ring) consumed(n uint64) { atomic.StoreUint64(r.rd, n) }
func (r *ring) read() uint64      { return atomic.LoadUint64(r.rd) }

// free releases the C memory; the audio thread must be gone.
func (r *ring) free() {
	C.free(unsafe.Pointer(r.c.buf))
	C.free(unsafe.Pointer(r.c))
	r.c, r.buf = nil, nil
}
