// Package cluster proves the device's upload path and roomctl's archive
// reader against a distributed MinIO: four server processes on loopback, two
// drives each, one erasure-coded pool (sync/miniotest.StartCluster).
//
// It has no code of its own, only tests: a node killed with SIGKILL and
// restarted while ten sessions upload (nothing lost or duplicated, object
// lock, versioning and the device's write-only policy as on one server),
// site replication to a second site set up as the README says, and under
// the bench build tag a kiosk whose own node dies and a fleet of 200 rooms
// uploading at once, measured against the fleet's real-time need.
package cluster
