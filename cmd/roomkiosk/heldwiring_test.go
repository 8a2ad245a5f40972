package main

import "roomkiosk/kiosk/session"

// The daemon's recorder tells the core's held-recording decisions who made
// them (issue 22) and lists what it holds: the core finds these by type
// assertion, so a wrapper that hid them would silently lose the decision.
var (
	_ session.HeldSettler = overrideLogger{}
	_ session.HeldLister  = overrideLogger{}
)
