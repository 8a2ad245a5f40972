// Package powercut cuts the power of the booted appliance: the amd64 test
// image (make image-test-build) with a real ALSA capture device (snd-aloop)
// fed by aplay, a session held through the control socket by a test client
// in the guest (./guest), QEMU killed with SIGKILL at chosen moments, the
// same disk booted again, the recovered sessions uploaded through QEMU's
// user network to a MinIO on the host's loopback and pulled with the admin
// identity by roomctl. Everything is behind build tags: `make
// powercut-test` runs TestPowerCut (tag powercut), `make bench` runs
// TestBenchPowerCut (tag bench). See images/README.md.
package powercut
