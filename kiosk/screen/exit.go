package screen

// ExitDisplayLost is the screen's exit code when its X server went away
// (Xvfb stopped, the display server crashed): one log line says so, and the
// service manager restarts the screen once a display is back.
const ExitDisplayLost = 3
