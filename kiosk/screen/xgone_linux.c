//go:build linux && cgo

#include <X11/Xlib.h>
#include "_cgo_export.h"

// rk_io_error is Xlib's handler for a broken connection (the X server went
// away). Xlib's own prints a line and calls exit(1), and until it runs the
// GL and GLFW threads may touch the dead connection and crash; ours hands
// over to Go, which logs one line and exits with its own code. It never
// returns.
static int rk_io_error(Display *d) {
	(void)d;
	rkDisplayLost();
	return 0;
}

void rk_watch_display(void) {
	XSetIOErrorHandler(rk_io_error);
}
