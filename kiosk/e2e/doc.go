// Package e2e holds the end-to-end test of the whole appliance, run as a
// clinic would run it: a real MinIO provisioned with roomctl, the roomkiosk
// daemon on the simulated board with a real ALSA capture device fed with
// espeak-ng speech, the roomkiosk-screen under its own Xvfb driven by taps,
// and roomctl listing, pulling and checking what arrived. Its bench-tagged
// files measure the reliability figures (SIGKILLs, MinIO outages, malformed
// input) for make bench. The package has no non-test code.
package e2e
