package recorder

import (
	"fmt"

	"roomkiosk/recorder/manifest"
)

// RetentionConfig is the device's [retention] section: the room's retention
// class, which the device writes into every session's manifest and summary.
// The admin's policy (roomctl retention set) says how long a class keeps a
// session and gives each room its class too; the longer of the two applies,
// so a device (a stolen kiosk's config) can lengthen a retention, never
// shorten it. Empty: the policy's class for the room.
type RetentionConfig struct {
	Class string `toml:"class"`
}

// Validate checks the class's name.
func (c RetentionConfig) Validate() error {
	if c.Class != "" && !manifest.ValidRetentionClass(c.Class) {
		return fmt.Errorf("retention.class: %q: want lowercase letters, digits, '-' and '_' (at most 32), like \"supervision\"", c.Class)
	}
	return nil
}
