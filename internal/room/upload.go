package room

import "time"

// Upload states of a session still on the device, as the uploader tells
// them from the spool (SessionUpload.State).
const (
	UploadRecording   = "recording"   // being recorded, or waiting for crash recovery: not uploadable yet
	UploadHeld        = "held"        // withdrawn: held on the device until the participants keep or delete it
	UploadQueued      = "queued"      // complete, waiting for its turn (or for the network)
	UploadUploading   = "uploading"   // its objects are being put now
	UploadQuarantined = "quarantined" // set aside for an admin (a file does not match its manifest)
	UploadUploaded    = "uploaded"    // every object confirmed; kept on the device (storage.keep_uploaded)
	UploadNoAudio     = "no_audio"    // nothing recorded here (or deleted): only its summary or deletion request waits
)

// SessionUpload is where one session on the device stands in the upload.
// It names the session by id only.
type SessionUpload struct {
	SessionID       string    `json:"session_id"`
	State           string    `json:"state"`                      // Upload* above
	Objects         int       `json:"objects"`                    // files of it still to upload
	Bytes           int64     `json:"bytes"`                      // their size
	QueuedAt        time.Time `json:"queued_at,omitzero"`         // when it became uploadable
	UploadedAt      time.Time `json:"uploaded_at,omitzero"`       // state uploaded: when
	SummaryPending  bool      `json:"summary_pending,omitempty"`  // its summary.json is not up yet
	DeletionPending bool      `json:"deletion_pending,omitempty"` // its deletion request is not up yet
}

// LastUpload names the session whose upload completed last.
type LastUpload struct {
	SessionID string    `json:"session_id"`
	At        time.Time `json:"at"`
}

// UploadReport is what the uploader can tell about sessions: every session
// still on the device, oldest first, and the last one uploaded since the
// daemon started (nil before any).
type UploadReport struct {
	Sessions     []SessionUpload `json:"sessions"`
	LastUploaded *LastUpload     `json:"last_uploaded,omitempty"`
}
