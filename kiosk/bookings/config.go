// Package bookings shows the room's bookings on the door from an iCalendar
// feed (an https URL or a file), fetched on an interval and kept on disk so
// that the door goes on showing them offline, with their age. Only times
// leave this package: never a client's name, a title or a description.
//
// Parsing and recurrence (RRULE, EXDATE, RDATE, RECURRENCE-ID, TZID and
// all-day dates) are done by github.com/emersion/go-ical and
// github.com/teambition/rrule-go; this package resolves the time zone names
// calendar servers write (IANA, a feed's own VTIMEZONE with
// X-LIC-LOCATION, Outlook's Windows names) and picks the next booking.
package bookings

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"roomkiosk/internal/room"
)

// Config is the [bookings] section. An empty feed turns bookings off.
type Config struct {
	Feed          string        `toml:"feed"`           // https://... or an absolute path to an .ics file; "" = no bookings
	CAFile        string        `toml:"ca_file"`        // PEM file of CAs to trust for an https feed; "" = the system's
	Refresh       room.Duration `toml:"refresh"`        // how often the feed is fetched
	CacheFile     string        `toml:"cache_file"`     // the last good copy, shown while the feed cannot be reached
	SessionLength room.Duration `toml:"session_length"` // a session's usual length: the checklist warns when one started now would run into the next booking
	TimeZone      string        `toml:"time_zone"`      // zone of floating times and all-day dates; "" = the device's
}

// Default returns the [bookings] defaults (no feed).
func Default() Config {
	return Config{
		Refresh:       room.Duration{Duration: 5 * time.Minute},
		CacheFile:     "/var/lib/roomkiosk/bookings/feed.ics",
		SessionLength: room.Duration{Duration: 50 * time.Minute},
	}
}

// Enabled reports whether a feed is configured.
func (c Config) Enabled() bool { return c.Feed != "" }

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	if c.Feed == "" {
		return nil
	}
	if strings.Contains(c.Feed, "://") {
		u, err := url.Parse(c.Feed)
		if err != nil {
			return fmt.Errorf("bookings.feed: not a URL: %v", err)
		}
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
			// A calendar proxy on the device itself.
		case u.Scheme == "http":
			return errors.New("bookings.feed: plain http is allowed on loopback only; use https (with bookings.ca_file for a private CA)")
		default:
			return fmt.Errorf("bookings.feed: scheme %q is not https (or an absolute file path)", u.Scheme)
		}
		if u.Host == "" {
			return errors.New("bookings.feed: the URL has no host")
		}
	} else if !filepath.IsAbs(c.Feed) {
		return fmt.Errorf("bookings.feed: %q is neither an https URL nor an absolute file path", c.Feed)
	}
	switch {
	case c.CAFile != "" && !strings.HasPrefix(c.Feed, "https://"):
		return errors.New("bookings.ca_file: only for an https feed")
	case c.Refresh.Duration < 30*time.Second || c.Refresh.Duration > 24*time.Hour:
		return fmt.Errorf("bookings.refresh: %v is out of range (30s to 24h)", c.Refresh.Duration)
	case c.CacheFile == "" || !filepath.IsAbs(c.CacheFile):
		return fmt.Errorf("bookings.cache_file: %q must be an absolute path", c.CacheFile)
	case c.SessionLength.Duration < 5*time.Minute || c.SessionLength.Duration > 8*time.Hour:
		return fmt.Errorf("bookings.session_length: %v is out of range (5m to 8h)", c.SessionLength.Duration)
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			return fmt.Errorf("bookings.time_zone: %q is not a time zone: %v", c.TimeZone, err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// location is the configured zone, or the device's.
func (c Config) location() *time.Location {
	if c.TimeZone == "" {
		return time.Local
	}
	l, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.Local
	}
	return l
}
