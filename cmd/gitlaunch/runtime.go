package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// runtimeFlags are shared by the commands that use the data directory.
type runtimeFlags struct {
	config  string
	dataDir string
}

func (f *runtimeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "admin config (gitlaunch.yaml)")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "where runs, logs and git caches live (default $GITLAUNCH_DATA, the config's engine.dataDir, or .gitlaunch)")
}

func (f *runtimeFlags) open(ctx context.Context) (*app, error) {
	return openApp(ctx, f.config, f.dataDir)
}

// openFor opens the app for a command, printing a config's problems one
// per line (exit 1) rather than as one error.
func (f *runtimeFlags) openFor(ctx context.Context, cmd *cobra.Command) (*app, error) {
	a, err := f.open(ctx)
	if err != nil {
		printProblems(cmd.ErrOrStderr(), err)
		return nil, exitError{1}
	}
	return a, nil
}

func addRuntimeCommands(root *cobra.Command) {
	root.AddCommand(newSyncCmd(), newRunCmd(), newRunsCmd(), newLogsCmd(), newCancelCmd(), newCloneCmd())
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newSyncCmd() *cobra.Command {
	var (
		rf     runtimeFlags
		once   bool
		jobs   []string
		listen string
	)
	cmd := &cobra.Command{
		Use:   "sync [REPO...]",
		Short: "Watch git repositories and run their jobs (the daemon)",
		Long: `Sync watches repositories (local paths or URLs given as arguments, and the
config's repos), plans a run for each job whose triggers match a push, a pull
request or a schedule, runs it with the configured executor (the local one by
default: on this machine, with the repository at /mnt/<repo>) and reports each
state change. Runs, logs and results are kept in the data directory.

On first sight of a repository its branch heads count as pushed, so jobs run at
once; its history never does. With --once, sync does one full pass (plan, run,
wait, report) and exits with status 1 if any run did not succeed.`,
		Example: `  gitlaunch sync --once --job hello .          # run the hello example here, once
  gitlaunch sync ~/code/mnist https://example.com/team/models.git
  gitlaunch sync --config gitlaunch.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			a, err := rf.openFor(ctx, cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.tryLock(); err != nil {
				return fmt.Errorf("%w (%s)", err, a.dataDir)
			}
			specs := append([]schema.Repo{}, a.cfg.Repos...)
			for _, arg := range args {
				spec, err := a.repoSpec(arg)
				if err != nil {
					return err
				}
				specs = append(specs, spec)
			}
			if len(specs) == 0 {
				return errors.New("no repositories to watch: name them as arguments or in the config's repos")
			}
			var repos []*engine.Repo
			for _, s := range specs {
				r, err := a.engineRepo(ctx, s)
				if err != nil {
					return err
				}
				repos = append(repos, r)
			}
			exec, err := a.executor(ctx)
			if err != nil {
				return err
			}
			if c, ok := exec.(io.Closer); ok {
				defer c.Close()
			}
			var eng *engine.Engine
			gh, err := setupGitHub(a, repos, func() *engine.Engine { return eng })
			if err != nil {
				return err
			}
			opts := engine.Options{Executor: exec, Repos: repos,
				Reporters: []engine.Reporter{consoleReporter(cmd.OutOrStdout())}}
			if gh != nil {
				opts.Reporters = append(opts.Reporters, gh.reporter)
				opts.PRs = gh.trust
				if gh.secret != "" && a.cfg.Sync.PollInterval.Duration == schema.DefaultPollInterval {
					opts.PollInterval = webhookPollInterval
				}
			}
			if eng, err = a.engineWith(opts); err != nil {
				return err
			}
			if hook, err := gh.webhook(ctx, a, eng); err != nil {
				return err
			} else if hook != nil {
				a.webhook = hook
			}
			eng.OnlyJobs(jobs)
			fmt.Fprintf(cmd.ErrOrStderr(), "gitlaunch: data in %s (runs: gitlaunch runs --data-dir %s)\n", a.dataDir, a.dataDir)
			if listen == "" {
				listen = a.cfg.Sync.Listen
			}
			if listen != "" {
				stopHTTP, err := serveHTTP(ctx, cmd, a, eng, listen)
				if err != nil {
					return err
				}
				defer stopHTTP()
			}
			if !once {
				return a.runElected(ctx, eng)
			}
			return syncOnce(ctx, cmd, a, eng, repos)
		},
	}
	rf.add(cmd)
	cmd.Flags().BoolVar(&once, "once", false, "one full pass: plan, run, wait, report; exit 1 if a run failed")
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "only plan jobs with these names (repeatable)")
	cmd.Flags().StringVar(&listen, "listen", "", "serve webhooks, the dashboard, /metrics and /healthz on this address, e.g. 127.0.0.1:8080")
	return cmd
}

func syncOnce(ctx context.Context, cmd *cobra.Command, a *app, eng *engine.Engine, repos []*engine.Repo) error {
	if err := eng.Recover(ctx); err != nil {
		return err
	}
	var ids []string
	var errs []error
	for _, r := range repos {
		runs, err := eng.PollRepo(ctx, r.Name)
		if err != nil {
			errs = append(errs, err)
		}
		for _, run := range runs {
			ids = append(ids, run.ID)
		}
	}
	runs, err := eng.WaitIdle(ctx, ids)
	if err != nil {
		return err
	}
	out := cmd.ErrOrStderr()
	failed := 0
	for _, r := range runs {
		if r.State != engine.StateSucceeded {
			failed++
		}
	}
	fmt.Fprintf(out, "gitlaunch: %d run(s), %d not succeeded; logs: gitlaunch logs RUN --data-dir %s; results in %s/runs/RUN/workspace/\n",
		len(runs), failed, a.dataDir, a.dataDir)
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(out, "gitlaunch:", err)
		return exitError{1}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

func newRunCmd() *cobra.Command {
	var (
		rf        runtimeFlags
		jobs      []string
		ref       string
		detach    bool
		noLogs    bool
		untrusted bool
	)
	cmd := &cobra.Command{
		Use:   "run PATH|URL",
		Short: "Run jobs of a repository now (a manual trigger)",
		Long: `Run starts the jobs of a repository at a ref right now, whatever their triggers
say. When a 'gitlaunch sync' daemon uses the same data directory, the run is
handed to it; otherwise this command runs it itself. It follows the run, prints
its log, and exits with status 1 unless every run succeeded.`,
		Example: `  gitlaunch run . --job hello
  gitlaunch run https://example.com/team/models.git --job mnist --ref refs/heads/dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			a, err := rf.openFor(ctx, cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			spec, err := a.repoSpec(args[0])
			if err != nil {
				return err
			}
			repo, err := a.engineRepo(ctx, spec)
			if err != nil {
				return err
			}
			snap, err := repo.Source.Poll(ctx)
			if err != nil {
				return err
			}
			if ref == "" {
				head := repo.DefaultBranch
				if head == "" {
					head = snap.Head
				}
				ref = "refs/heads/" + head
			} else if !strings.HasPrefix(ref, "refs/") {
				ref = "refs/heads/" + ref
			}
			sha, ok := snap.Refs[ref]
			if !ok {
				return fmt.Errorf("ref %s not found in %s", ref, spec.URL)
			}
			dispatcher := a.tryLock() == nil
			var exec engine.Executor = requestExecutor{a}
			if dispatcher {
				if exec, err = a.executor(ctx); err != nil {
					return err
				}
				if c, ok := exec.(io.Closer); ok {
					defer c.Close()
				}
			}
			reporters := []engine.Reporter{consoleReporter(cmd.ErrOrStderr())}
			eng, err := a.engine(exec, reporters, []*engine.Repo{repo})
			if err != nil {
				return err
			}
			runs, err := eng.Submit(ctx, engine.Event{
				Repo: repo.Name, Trigger: engine.TriggerManual, Ref: ref, Branch: engine.BranchOf(ref), After: sha,
				Key: fmt.Sprint(time.Now().UnixNano()), Jobs: jobs, Force: true, Untrusted: untrusted,
			})
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				return fmt.Errorf("no job to run at %s@%s (jobs named: %s)", repo.Name, engine.ShortSHA(sha), strings.Join(jobs, ", "))
			}
			if detach {
				for _, r := range runs {
					fmt.Fprintln(cmd.OutOrStdout(), r.ID)
				}
				if !dispatcher {
					return nil
				}
			}
			if !dispatcher {
				fmt.Fprintln(cmd.ErrOrStderr(), "gitlaunch: handed to the running sync daemon")
			}
			return followRuns(ctx, cmd, a, eng, runs, dispatcher, !noLogs && len(runs) == 1)
		},
	}
	rf.add(cmd)
	cmd.Flags().StringSliceVar(&jobs, "job", nil, "job names to run (repeatable; default: every job)")
	cmd.Flags().StringVar(&ref, "ref", "", "branch or full ref to run at (default: the default branch)")
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "print the run IDs and return without waiting (needs a running sync daemon)")
	cmd.Flags().BoolVar(&noLogs, "no-logs", false, "do not print the run's log")
	cmd.Flags().BoolVar(&untrusted, "untrusted", false, "run without the repository's secrets")
	return cmd
}

// followRuns waits for runs to end, printing the log of a single run as it
// streams. The dispatcher steps the engine itself; otherwise the daemon
// does and this only watches the store.
func followRuns(ctx context.Context, cmd *cobra.Command, a *app, eng *engine.Engine, runs []*engine.Run, dispatcher, logs bool) error {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	logDone := make(chan struct{})
	if logs {
		go func() {
			defer close(logDone)
			_, _ = a.store.FollowLog(ctx, ids[0], 0, cmd.OutOrStdout(), 100*time.Millisecond)
		}()
	} else {
		close(logDone)
	}
	var final []*engine.Run
	var err error
	if dispatcher {
		final, err = eng.WaitIdle(ctx, ids)
	} else {
		final, err = waitInStore(ctx, a, ids)
	}
	<-logDone
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range final {
		if r.State != engine.StateSucceeded {
			failed++
		}
		if !dispatcher {
			fmt.Fprintln(cmd.ErrOrStderr(), console.Line(r, time.Now()))
		}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

func waitInStore(ctx context.Context, a *app, ids []string) ([]*engine.Run, error) {
	for {
		var out []*engine.Run
		done := true
		for _, id := range ids {
			r, err := a.store.GetRun(ctx, id)
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

// requestExecutor stands in when another process dispatches: this process
// only plans and watches, and asks the dispatcher to cancel.
type requestExecutor struct{ a *app }

var errNotDispatcher = errors.New("this process does not dispatch runs")

func (requestExecutor) Start(context.Context, engine.Launch, engine.Sink) error {
	return errNotDispatcher
}
func (requestExecutor) Adopt(context.Context, engine.Launch, engine.Sink) error {
	return errNotDispatcher
}
func (x requestExecutor) Cancel(ctx context.Context, id string) error {
	return x.a.store.RequestCancel(ctx, engine.CancelRequest{RunID: id, Reason: "superseded", By: currentUser()})
}

func newRunsCmd() *cobra.Command {
	var (
		rf     runtimeFlags
		repo   string
		job    string
		states []string
		limit  int
		output string
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first",
		Example: `  gitlaunch runs
  gitlaunch runs --repo mnist --state failed,error -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("-o must be table or json, not %q", output)
			}
			a, err := rf.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			f := engine.RunFilter{Repo: repo, Limit: limit}
			for _, s := range states {
				st := engine.State(s)
				if !slices.Contains(engine.AllStates, st) {
					return fmt.Errorf("unknown state %q (states: %s)", s, strings.Join(stateNames(), ", "))
				}
				f.States = append(f.States, st)
			}
			runs, err := a.store.ListRuns(cmd.Context(), f)
			if err != nil {
				return err
			}
			if job != "" {
				kept := runs[:0]
				for _, r := range runs {
					if r.JobName == job {
						kept = append(kept, r)
					}
				}
				runs = kept
			}
			if output == "table" {
				if errs, err := a.store.PollErrors(cmd.Context()); err == nil {
					for _, pe := range errs {
						if repo == "" || repo == pe.Repo {
							fmt.Fprintf(cmd.ErrOrStderr(), "warning: repository %s cannot be polled: %s\n", pe.Repo, pe)
						}
					}
				}
			}
			if output == "json" {
				for _, r := range runs {
					r.Manifest = ""
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			return printRuns(cmd.OutOrStdout(), runs, time.Now())
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVar(&repo, "repo", "", "only runs of this repository")
	cmd.Flags().StringVar(&job, "job", "", "only runs of this job")
	cmd.Flags().StringSliceVar(&states, "state", nil, "only runs in these states (comma-separated)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs (0 = all)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func stateNames() []string {
	out := make([]string, len(engine.AllStates))
	for i, s := range engine.AllStates {
		out[i] = string(s)
	}
	return out
}

func printRuns(w io.Writer, runs []*engine.Run, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tREPO\tJOB\tCOMMIT\tTRIGGER\tSTATE\tDURATION\tAGE\tREASON")
	for _, r := range runs {
		dur := "-"
		if d := r.Duration(now); d >= time.Minute {
			dur = d.Round(time.Second).String()
		} else if d > 0 {
			dur = d.Round(100 * time.Millisecond).String()
		}
		reason := r.Reason
		if len(r.Metrics) > 0 && r.State == engine.StateSucceeded {
			reason = console.Metrics(r.Metrics)
		}
		if len(reason) > 80 {
			reason = reason[:77] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Repo, r.JobName, engine.ShortSHA(r.SHA),
			console.Where(r), r.State, dur, now.Sub(r.CreatedAt).Round(time.Second), oneLine(reason))
	}
	return tw.Flush()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func newLogsCmd() *cobra.Command {
	var (
		rf     runtimeFlags
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's log (RUN may be a unique prefix of its ID)",
		Example: `  gitlaunch logs 3kq7
  gitlaunch logs -f 3kq7vz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			a, err := rf.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.store.FindRun(ctx, args[0])
			if err != nil {
				return err
			}
			if follow {
				_, err := a.store.FollowLog(ctx, r.ID, 0, cmd.OutOrStdout(), 200*time.Millisecond)
				if errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			}
			rc, err := a.store.OpenLog(ctx, r.ID, 0)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			return err
		},
	}
	rf.add(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until the run ends")
	return cmd
}

func newCancelCmd() *cobra.Command {
	var (
		rf     runtimeFlags
		reason string
	)
	cmd := &cobra.Command{
		Use:     "cancel RUN",
		Short:   "Cancel a run (RUN may be a unique prefix of its ID)",
		Example: `  gitlaunch cancel 3kq7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := rf.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.store.FindRun(ctx, args[0])
			if err != nil {
				return err
			}
			if r.State.Terminal() {
				return fmt.Errorf("run %s already ended: %s", r.ID, r.State)
			}
			if reason == "" {
				reason = "cancelled by " + currentUser()
			}
			if err := a.tryLock(); err == nil {
				// No daemon: this process becomes the dispatcher, re-adopts
				// what is still running, and stops the run itself.
				exec, err := a.executor(ctx)
				if err != nil {
					return err
				}
				eng, err := a.engine(exec, nil, nil)
				if err != nil {
					return err
				}
				if err := eng.Recover(ctx); err != nil {
					return err
				}
				if err := eng.Cancel(ctx, r.ID, reason); err != nil {
					return err
				}
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				final, err := eng.WaitIdle(wctx, []string{r.ID})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", final[0].State, r.ID)
				return nil
			}
			if err := a.store.RequestCancel(ctx, engine.CancelRequest{RunID: r.ID, Reason: reason, By: currentUser()}); err != nil {
				return err
			}
			final, err := waitInStoreFor(ctx, a, r.ID, 30*time.Second)
			if err != nil {
				return fmt.Errorf("cancel requested, but the sync daemon has not confirmed it yet: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", final.State, r.ID)
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown in reports)")
	return cmd
}

func waitInStoreFor(ctx context.Context, a *app, id string, d time.Duration) (*engine.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	runs, err := waitInStore(ctx, a, []string{id})
	if err != nil {
		return nil, err
	}
	return runs[0], nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "the command line"
}
