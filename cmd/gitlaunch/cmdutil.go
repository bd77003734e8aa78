package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// exitError carries a process exit code through cobra without printing
// anything more (the command already said what was wrong).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// dataFlags are shared by the commands that use the data directory.
type dataFlags struct {
	Config  string
	DataDir string
}

func (f *dataFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Config, "config", "", "admin config (gitlaunch.yaml)")
	cmd.Flags().StringVar(&f.DataDir, "data-dir", "", "where runs, logs and git caches live (default $GITLAUNCH_DATA, the config's sync.dataDir, or .gitlaunch)")
}

// daemonOptions is the start of every command's daemon.Options.
func (f *dataFlags) daemonOptions(role daemon.Role) daemon.Options {
	return daemon.Options{ConfigPath: f.Config, DataDir: f.DataDir, Role: role}
}

// openDaemon opens the syncer's parts for a command, printing a config's
// problems one per line (exit 1) rather than as one error.
func openDaemon(ctx context.Context, stderr io.Writer, o daemon.Options) (*daemon.Daemon, error) {
	d, err := daemon.Open(ctx, o)
	if err != nil {
		var ps schema.Problems
		if errors.As(err, &ps) {
			printProblems(stderr, err)
			return nil, exitError{1}
		}
		return nil, err
	}
	return d, nil
}

func printProblems(w io.Writer, err error) {
	var ps schema.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(w, p.String())
		}
		return
	}
	fmt.Fprintln(w, "gitlaunch:", err)
}

// signalContext ends on Ctrl-C or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "the command line"
}

// waitInStore polls the store until every run in ids is terminal: another
// process dispatches them.
func waitInStore(ctx context.Context, st runGetter, ids []string) ([]*engine.Run, error) {
	for {
		var out []*engine.Run
		done := true
		for _, id := range ids {
			r, err := st.GetRun(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			done = done && r.State.Terminal()
		}
		if done {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type runGetter interface {
	GetRun(ctx context.Context, id string) (*engine.Run, error)
}
