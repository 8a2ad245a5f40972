package main

import (
	"context"
	"flag"
	"io"

	"roomkiosk/kiosk/logging"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	log, err := logging.New(stdout, cfg.Log.Level)
	if err != nil {
		return exitConfig
	}
	log.Info().Str("room", cfg.Room.ID).Str("version", version).Msg("roomkiosk starting")
	<-ctx.Done()
	log.Info().Msg("roomkiosk stopped")
	return exitOK
}
