package screentest

import (
	"testing"
	"time"

	"roomkiosk/kiosk/ui"
)

// ReadAgreement pages through the agreement on the consent screen, as a
// participant must before "I agree" becomes active, and returns the view
// with every page seen.
func (s *Screen) ReadAgreement(t testing.TB) ui.View {
	t.Helper()
	v := s.WaitScene(t, "consent")
	for v.PagesSeen < v.Pages {
		seen := v.PagesSeen
		s.Tap(t, "consent-scroll-down")
		v = s.WaitFor(t, "the next agreement page", 10*time.Second, func(v ui.View) bool {
			return v.Scene == "consent" && v.PagesSeen > seen
		})
	}
	return v
}

// Agree reads the agreement to its end and taps "I agree".
func (s *Screen) Agree(t testing.TB) {
	t.Helper()
	s.ReadAgreement(t)
	s.Tap(t, "consent-yes")
}
