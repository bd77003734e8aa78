package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/web"
	"github.com/spf13/cobra"
)

// serveHTTP starts the syncer's HTTP server; the returned func shuts it
// down gracefully.
func serveHTTP(ctx context.Context, cmd *cobra.Command, a *app, eng *engine.Engine, addr string) (func(), error) {
	h, err := web.New(web.Options{Store: a.store, Logger: a.log, Webhook: a.webhook,
		// Healthy while the run store answers. A git remote or GitHub being
		// down is not a reason to restart the syncer: runs list those.
		Health: func(ctx context.Context) error {
			_, err := a.store.ListRuns(ctx, engine.RunFilter{Limit: 1})
			return err
		}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	what := "dashboard"
	if a.webhook != nil {
		what = "dashboard and webhooks (POST /webhook)"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "gitlaunch: %s on http://%s/\n", what, ln.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
