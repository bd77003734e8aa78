package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/github"
	"github.com/gitlaunch/gitlaunch/sync/web"
)

// httpServer serves webhooks, the dashboard, /metrics and /healthz.
type httpServer struct {
	ln   net.Listener
	srv  *http.Server
	hook *github.WebhookHandler // nil: no webhooks
}

// openHTTP binds the listen address, so that a taken port fails Open and
// Addr is known before Run.
func (d *Daemon) openHTTP() error {
	addr := d.opts.Listen
	if addr == "" {
		addr = d.setup.Config.Sync.Listen
	}
	if addr == "" || d.lock == nil {
		return nil
	}
	hook, err := d.gh.webhook(d)
	if err != nil {
		return err
	}
	opts := web.Options{Store: d.store, Logger: d.log,
		// Healthy while the run store is the file on disk and answers. A
		// git remote or GitHub being down is not a reason to restart the
		// syncer: runs list those.
		Health: func(ctx context.Context) error {
			if err := d.store.Check(ctx); err != nil {
				return err
			}
			_, err := d.store.ListRuns(ctx, engine.RunFilter{Limit: 1})
			return err
		}}
	if hook != nil {
		opts.Webhook = hook
	}
	h, err := web.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	limits := web.DefaultLimits()
	d.http = &httpServer{ln: web.LimitListener(ln, limits.MaxConns), hook: hook, srv: web.NewHTTPServer(h, limits)}
	d.onClose(func() error {
		// Run's graceful shutdown may have closed it already.
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return nil
}

// serve answers until ctx ends, then shuts down gracefully.
func (s *httpServer) serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(sctx)
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
