package room

import (
	"fmt"
	"strconv"
	"strings"
)

// Family sessions (issue 24): children are present. A child is a
// participant under the practice's minor age (consent.minor_age). Nothing
// identifies anyone: counts and roles only.
//
// The consent turns of a session with adults A and children C are: the
// adults, one after the other (role "adult"), then for each child N a
// present adult's guardian agreement ("guardian-of-child-N") followed by
// the child's own assent ("child-N-assent"). Recording starts only after
// every turn said yes; any no (a child's included, whatever the guardian
// said) means the session is not recorded.

// RoleAdult is an adult's decision on the recording agreement.
const RoleAdult = "adult"

// DefaultMinorAge is consent.minor_age's default: under 14 a child's
// recording needs a guardian's consent (PIPL art. 31).
const DefaultMinorAge = 14

// ConsentRecordVersion is the version of the consent record the core
// writes (ConsentRecord.Version): 2 adds roles, per-decision agreement ids
// and the adults and children counts. A record without a version is
// version 1: every decision is an adult's on the recording agreement.
const ConsentRecordVersion = 2

// NoticeNotRecordedNoGuardian: a child is present without any adult, so
// nobody can give a guardian's consent and the session is not recorded.
const NoticeNotRecordedNoGuardian = "not_recorded_no_guardian"

// RoleGuardian is the role of a present adult's guardian agreement for
// child n (1-based).
func RoleGuardian(child int) string { return "guardian-of-child-" + strconv.Itoa(child) }

// RoleAssent is the role of child n's own assent (1-based).
func RoleAssent(child int) string { return "child-" + strconv.Itoa(child) + "-assent" }

// ConsentTurns is how many consent turns a session with these counts asks.
func ConsentTurns(adults, children int) int { return adults + 2*children }

// TurnRole returns the role that answers consent turn (1-based) and the
// child it concerns (0 for an adult's own turn); "" for a turn outside
// 1..ConsentTurns.
func TurnRole(adults, children, turn int) (role string, child int) {
	switch {
	case turn < 1 || turn > ConsentTurns(adults, children):
		return "", 0
	case turn <= adults:
		return RoleAdult, 0
	}
	k := turn - adults - 1
	child = k/2 + 1
	if k%2 == 0 {
		return RoleGuardian(child), child
	}
	return RoleAssent(child), child
}

// ParseRole splits a role into its kind ("adult", "guardian", "assent") and
// child number; ok is false for anything else.
func ParseRole(role string) (kind string, child int, ok bool) {
	if role == RoleAdult {
		return "adult", 0, true
	}
	var rest string
	switch {
	case strings.HasPrefix(role, "guardian-of-child-"):
		kind, rest = "guardian", strings.TrimPrefix(role, "guardian-of-child-")
	case strings.HasPrefix(role, "child-") && strings.HasSuffix(role, "-assent"):
		kind, rest = "assent", strings.TrimSuffix(strings.TrimPrefix(role, "child-"), "-assent")
	default:
		return "", 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > MaxParticipants || strconv.Itoa(n) != rest {
		return "", 0, false
	}
	return kind, n, true
}

// CheckFamily checks participant counts: total 1..MaxParticipants, children
// 0..total.
func CheckFamily(total, children int) error {
	switch {
	case total < 1 || total > MaxParticipants:
		return fmt.Errorf("participants must be 1 to %d, not %d", MaxParticipants, total)
	case children < 0 || children > total:
		return fmt.Errorf("children must be 0 to %d (the participants), not %d", total, children)
	}
	return nil
}
