// Package recorder turns consented session audio into encrypted, power-cut-safe
// segments in the spool. This root package is the recorder itself (sessions,
// segment writing, level metering, the microphone check, its configuration)
// and stays free of cgo, so roomctl and the uploader can link its formats:
// capture through malgo lives in the leaf package recorder/capture, behind
// the Source interface.
package recorder

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
)

// Config is the [recording] section.
type Config struct {
	Device           string        `toml:"device"`             // ALSA device name; "default"
	SampleRate       int           `toml:"sample_rate"`        // 16000 or 48000
	Channels         int           `toml:"channels"`           // 1 or 2
	SegmentLength    room.Duration `toml:"segment_length"`     // 30s
	MaxSessionLength room.Duration `toml:"max_session_length"` // 2h
	SpoolDir         string        `toml:"spool_dir"`

	// Level metering and the counselor's silence alert.
	SilenceThreshold float64       `toml:"silence_threshold_dbfs"` // -45: RMS below this is silence
	SilenceAfter     room.Duration `toml:"silence_after"`          // 120s of silence raises mic_silent
	// Device loss: how often to try reopening a lost microphone.
	RetryInterval room.Duration `toml:"retry_interval"` // 3s
	// Storage guard: a session needs room for max_session_length plus
	// free_margin_mb to start; under disk_floor_mb recording stops cleanly.
	FreeMarginMB int `toml:"free_margin_mb"` // 200
	DiskFloorMB  int `toml:"disk_floor_mb"`  // 50

	// Microphone check (check runner): noise floor over 1 s must be below
	// mic_noise_floor_dbfs; during the "say something" window the peak must
	// rise above mic_speech_peak_dbfs; no clipped samples.
	MicNoiseFloor float64       `toml:"mic_noise_floor_dbfs"` // -50
	MicSpeechPeak float64       `toml:"mic_speech_peak_dbfs"` // -30
	MicSpeechFor  room.Duration `toml:"mic_speech_window"`    // 3s; 0 skips the speech part
}

// Format is the configured capture format.
func (c Config) Format() Format { return Format{SampleRate: c.SampleRate, Channels: c.Channels} }

// EncryptionConfig is the [encryption] section: public keys only.
type EncryptionConfig struct {
	Recipients []string `toml:"recipients"` // age1... X25519 recipients
}

// Default returns the [recording] defaults.
func Default() Config {
	return Config{
		Device:           "default",
		SampleRate:       16000,
		Channels:         1,
		SegmentLength:    room.Duration{Duration: 30 * time.Second},
		MaxSessionLength: room.Duration{Duration: 2 * time.Hour},
		SpoolDir:         "/var/lib/roomkiosk/spool",
		SilenceThreshold: -45,
		SilenceAfter:     room.Duration{Duration: 120 * time.Second},
		RetryInterval:    room.Duration{Duration: 3 * time.Second},
		FreeMarginMB:     200,
		DiskFloorMB:      50,
		MicNoiseFloor:    -50,
		MicSpeechPeak:    -30,
		MicSpeechFor:     room.Duration{Duration: 3 * time.Second},
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	switch {
	case c.Device == "":
		return errors.New("recording.device: required")
	case c.SampleRate != 16000 && c.SampleRate != 48000:
		return fmt.Errorf("recording.sample_rate: %d is not supported (use 16000 or 48000)", c.SampleRate)
	case c.Channels != 1 && c.Channels != 2:
		return fmt.Errorf("recording.channels: %d is not supported (use 1 or 2)", c.Channels)
	case c.SegmentLength.Duration < time.Second || c.SegmentLength.Duration > 10*time.Minute:
		return fmt.Errorf("recording.segment_length: %v is out of range (1s to 10m)", c.SegmentLength.Duration)
	case c.MaxSessionLength.Duration < time.Minute || c.MaxSessionLength.Duration > 12*time.Hour:
		return fmt.Errorf("recording.max_session_length: %v is out of range (1m to 12h)", c.MaxSessionLength.Duration)
	case c.SpoolDir == "":
		return errors.New("recording.spool_dir: required")
	case c.SilenceThreshold > 0 || c.SilenceThreshold < -120:
		return fmt.Errorf("recording.silence_threshold_dbfs: %v is out of range (-120 to 0)", c.SilenceThreshold)
	case c.SilenceAfter.Duration < time.Second:
		return fmt.Errorf("recording.silence_after: %v is too short (at least 1s)", c.SilenceAfter.Duration)
	case c.RetryInterval.Duration < 100*time.Millisecond || c.RetryInterval.Duration > time.Minute:
		return fmt.Errorf("recording.retry_interval: %v is out of range (100ms to 1m)", c.RetryInterval.Duration)
	case c.FreeMarginMB < 0:
		return fmt.Errorf("recording.free_margin_mb: %d must not be negative", c.FreeMarginMB)
	case c.DiskFloorMB < 1:
		return fmt.Errorf("recording.disk_floor_mb: %d must be at least 1", c.DiskFloorMB)
	case c.MicNoiseFloor > 0 || c.MicNoiseFloor < -120:
		return fmt.Errorf("recording.mic_noise_floor_dbfs: %v is out of range (-120 to 0)", c.MicNoiseFloor)
	case c.MicSpeechPeak > 0 || c.MicSpeechPeak < -120:
		return fmt.Errorf("recording.mic_speech_peak_dbfs: %v is out of range (-120 to 0)", c.MicSpeechPeak)
	case c.MicSpeechFor.Duration < 0 || c.MicSpeechFor.Duration > 30*time.Second:
		return fmt.Errorf("recording.mic_speech_window: %v is out of range (0 to 30s)", c.MicSpeechFor.Duration)
	}
	return nil
}

// Validate checks that every recipient parses as an age X25519 public key.
func (e EncryptionConfig) Validate() error {
	if len(e.Recipients) == 0 {
		return errors.New("encryption.recipients: at least one age recipient (age1...) is required")
	}
	for i, r := range e.Recipients {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(r)), "AGE-SECRET-KEY-") {
			return fmt.Errorf("encryption.recipients[%d]: this is a secret key; a device holds public keys only", i)
		}
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
	}
	return nil
}

// ParsedRecipients returns the recipients ready for age.Encrypt.
func (e EncryptionConfig) ParsedRecipients() ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(e.Recipients))
	for i, r := range e.Recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
		out = append(out, rc)
	}
	return out, nil
}
