package ui

import (
	"testing"

	"roomkiosk/kiosk/internal/uitest"
)

// TestSamePictureWhileRecording: snapshots that only move the sequence
// number or the level within its step paint the same picture (the screen
// keeps its pixels); a level a step higher, or a new minute, does not.
func TestSamePictureWhileRecording(t *testing.T) {
	f := testFonts(t)
	var base Input
	for _, c := range uitest.Cases("en") {
		if c.Name == "session-recording" {
			base = Input{Connected: true, Snap: c.Snap, Now: uitest.Now, Version: "1"}
		}
	}
	if base.Snap.Seq == 0 && base.Snap.Step == "" {
		t.Fatal("no session-recording fixture")
	}
	first := Build(f, base)
	cases := []struct {
		name   string
		change func(in *Input)
		same   bool
	}{
		{"next snapshot, nothing shown changed", func(in *Input) { in.Snap.Seq++ }, true},
		{"peak moved", func(in *Input) { in.Snap.Level.PeakdBFS += 3 }, true},
		{"level within its step", func(in *Input) { in.Snap.Level.RMSdBFS += 1 }, true},
		{"level a step higher", func(in *Input) { in.Snap.Level.RMSdBFS += levelStep }, false},
		{"a minute later", func(in *Input) { in.Now = in.Now.Add(61e9) }, false},
		{"recording stopped", func(in *Input) { in.Snap.Recording = false }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			in.Snap.Level.RMSdBFS = -24.5 // in the middle of a step
			in0 := in
			c.change(&in)
			a, b := Build(f, in0), Build(f, in)
			if got := a.SamePicture(b); got != c.same {
				t.Errorf("SamePicture = %v, want %v", got, c.same)
			}
		})
	}
	if !first.SamePicture(Build(f, base)) {
		t.Error("the same input builds a different picture")
	}
	var none *Scene
	if none.SamePicture(first) || first.SamePicture(nil) {
		t.Error("a missing scene is the same picture")
	}
}
