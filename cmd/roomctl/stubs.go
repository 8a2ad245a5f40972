package main

import (
	"context"
	"errors"
)

func (a *app) sessions(ctx context.Context, args []string) error { return errors.New("not yet") }
func (a *app) pull(ctx context.Context, args []string) error     { return errors.New("not yet") }
func (a *app) status(ctx context.Context, args []string) error   { return errors.New("not yet") }
func (a *app) deletionsApply(ctx context.Context, args []string) error {
	return errors.New("not yet")
}
