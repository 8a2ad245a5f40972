//go:build linux && cgo

package screen

/*
#cgo LDFLAGS: -lX11 -lXi
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/XInput2.h>

typedef struct {
	Display *d;
	int opcode;
	Atom pid;
} pw_t;

// pw_ours reports whether the pointer is over a window of this process
// (GLFW sets _NET_WM_PID on its window), following the windows under the
// pointer from the root down (a window manager's frame, then ours). A press
// on another window that covers ours is not a tap on the kiosk.
static int pw_ours(pw_t *p) {
	Window w = DefaultRootWindow(p->d);
	long me = (long)getpid();
	for (int depth = 0; depth < 8; depth++) {
		Window root, child;
		int rx, ry, wx, wy;
		unsigned int mask;
		if (!XQueryPointer(p->d, w, &root, &child, &rx, &ry, &wx, &wy, &mask) || child == None) {
			return 0;
		}
		w = child;
		Atom type;
		int format;
		unsigned long n, after;
		unsigned char *data = NULL;
		if (XGetWindowProperty(p->d, w, p->pid, 0, 1, False, XA_CARDINAL, &type, &format, &n, &after, &data) == Success && data != NULL) {
			int mine = format == 32 && n == 1 && *(long *)data == me;
			XFree(data);
			if (mine) {
				return 1;
			}
		}
	}
	return 0;
}

// pw_open opens a connection of its own to the X server and selects the
// raw button and touch events of the master devices on the root window.
// Raw events go to every client that selects them (unlike ButtonPress on a
// window, which only one client may select), and they are not subject to
// grabs. Returns NULL and a reason code on failure.
static pw_t *pw_open(int *reason) {
	// GLFW (inside ebiten) has called XInitThreads before this: Xlib is
	// safe with a second connection on another thread.
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) {
		*reason = 1;
		return NULL;
	}
	int opcode, ev, er;
	if (!XQueryExtension(d, "XInputExtension", &opcode, &ev, &er)) {
		XCloseDisplay(d);
		*reason = 2;
		return NULL;
	}
	int major = 2, minor = 2;
	if (XIQueryVersion(d, &major, &minor) != Success) {
		XCloseDisplay(d);
		*reason = 3;
		return NULL;
	}
	unsigned char m[XIMaskLen(XI_LASTEVENT)] = {0};
	XISetMask(m, XI_RawButtonPress);
	XISetMask(m, XI_RawButtonRelease);
	if (major > 2 || minor >= 2) {
		XISetMask(m, XI_RawTouchBegin);
		XISetMask(m, XI_RawTouchEnd);
	}
	XIEventMask em;
	em.deviceid = XIAllMasterDevices;
	em.mask_len = sizeof m;
	em.mask = m;
	XISelectEvents(d, DefaultRootWindow(d), &em, 1);
	XSync(d, False);
	pw_t *p = malloc(sizeof *p);
	p->d = d;
	p->opcode = opcode;
	p->pid = XInternAtom(d, "_NET_WM_PID", False);
	return p;
}

// pw_next blocks until a primary button or touch goes down over a window
// of this process (1) or up anywhere (2), or stopfd becomes readable (-1),
// or the X server hangs up (-2).
static int pw_next(pw_t *p, int stopfd) {
	for (;;) {
		while (XPending(p->d)) {
			XEvent ev;
			XNextEvent(p->d, &ev);
			XGenericEventCookie *c = &ev.xcookie;
			if (c->type != GenericEvent || c->extension != p->opcode || !XGetEventData(p->d, c)) {
				continue;
			}
			XIRawEvent *re = c->data;
			int kind = 0;
			switch (c->evtype) {
			case XI_RawButtonPress:
				kind = re->detail == 1 ? 1 : 0;
				break;
			case XI_RawButtonRelease:
				kind = re->detail == 1 ? 2 : 0;
				break;
			case XI_RawTouchBegin:
				kind = 1;
				break;
			case XI_RawTouchEnd:
				kind = 2;
				break;
			}
			XFreeEventData(p->d, c);
			if (kind == 1 && !pw_ours(p)) {
				kind = 0;
			}
			if (kind != 0) {
				return kind;
			}
		}
		struct pollfd fds[2] = {{ConnectionNumber(p->d), POLLIN, 0}, {stopfd, POLLIN, 0}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		if (fds[1].revents != 0) {
			return -1;
		}
		if ((fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
			return -2;
		}
	}
}

static void pw_close(pw_t *p) {
	XCloseDisplay(p->d);
	free(p);
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
)

// watchPresses starts a PressWatch on the X display (its own connection, its
// own thread) and returns it with a function that stops it.
func watchPresses(onChange func()) (*PressWatch, func(), error) {
	var reason C.int
	p := C.pw_open(&reason)
	if p == nil {
		switch reason {
		case 1:
			return nil, nil, fmt.Errorf("watch presses: cannot open the X display")
		case 2:
			return nil, nil, fmt.Errorf("watch presses: the X server has no XInputExtension")
		default:
			return nil, nil, fmt.Errorf("watch presses: the X server has no XInput 2")
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		C.pw_close(p)
		return nil, nil, fmt.Errorf("watch presses: %w", err)
	}
	pw := &PressWatch{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The connection is used by this thread only.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer C.pw_close(p)
		fd := C.int(r.Fd())
		for {
			switch C.pw_next(p, fd) {
			case 1:
				pw.down()
			case 2:
				if pw.up() && onChange != nil {
					onChange()
				}
			case -2:
				// The X server went away: end the process cleanly before
				// the drawing thread trips over the dead connection.
				displayLost()
				return
			default:
				return
			}
		}
	}()
	stop := func() {
		w.Close()
		<-done
		r.Close()
	}
	return pw, stop, nil
}
