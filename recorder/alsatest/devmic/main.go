// Command devmic is a pretend microphone for `make run` on a machine with no
// sound card: through ALSA's file plugin (alsatest.Feeder) it plays speech
// made by espeak-ng, at real time and looped, as the "default" capture
// device. Give the daemon the printed ALSA_CONFIG_PATH.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"roomkiosk/recorder/alsatest"
)

const text = "This is the development microphone of roomkiosk. " +
	"It speaks so that a session can be recorded on a machine without a sound card. " +
	"Every participant has agreed, and the recording is encrypted as it is made."

func main() {
	dir := flag.String("dir", ".dev/mic", "folder for the FIFO and asound.conf (recreated)")
	rate := flag.Int("rate", 16000, "sample rate of the pretend microphone (mono, S16LE)")
	flag.Parse()
	if err := run(*dir, *rate); err != nil {
		fmt.Fprintf(os.Stderr, "devmic: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string, rate int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pcm, err := speech(dir, rate)
	if err != nil {
		return err
	}
	f, err := alsatest.NewIn(dir)
	if err != nil {
		return err
	}
	// Whole capture periods (2048 mono frames: the recorder's period at
	// any rate), the atomic pipe write size; about ten minutes of speech,
	// then it starts again.
	chunk := alsatest.PeriodBytes
	// Each open starts with 1.5 s of quiet, as a room does, so that the
	// microphone check measures a noise floor before someone speaks.
	loop := make([]byte, rate*3, 600*rate*2)
	for len(loop)+len(pcm) <= cap(loop) {
		loop = append(loop, pcm...)
	}
	loop = loop[:len(loop)/chunk*chunk]
	fmt.Printf("ALSA_CONFIG_PATH=%s\n", f.ConfPath)
	for ctx.Err() == nil {
		// Each open of the capture device reads the FIFO afresh: one feed
		// per open, held with silence after the speech until it closes.
		fd := f.FeedAndHold(loop, chunk, rate*2)
		select {
		case <-fd.Done():
		case <-ctx.Done():
			_ = fd.Stop()
		}
	}
	return nil
}

// speech renders text with espeak-ng and converts it with sox to raw PCM.
func speech(dir string, rate int) ([]byte, error) {
	wav := filepath.Join(dir, "speech.wav")
	if out, err := exec.Command("espeak-ng", "-w", wav, text).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("espeak-ng (Debian package espeak-ng): %v: %s", err, out)
	}
	raw, err := exec.Command("sox", wav, "-r", fmt.Sprint(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", "-").Output()
	if err != nil {
		return nil, fmt.Errorf("sox (Debian package sox): %w", err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("sox produced no audio")
	}
	return raw, nil
}
