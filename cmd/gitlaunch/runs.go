package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

// RunsOptions are the runs command's inputs.
type RunsOptions struct {
	dataFlags
	Repo   string
	Job    string
	States []engine.State
	Limit  int
	Output string

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdRuns returns the runs command; runF replaces runRuns in tests.
func NewCmdRuns(runF func(*RunsOptions) error) *cobra.Command {
	opts := &RunsOptions{}
	var states []string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first",
		Example: `  gitlaunch runs
  gitlaunch runs --repo mnist --state failed,error -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Output != "table" && opts.Output != "json" {
				return fmt.Errorf("-o must be table or json, not %q", opts.Output)
			}
			opts.States = nil
			for _, s := range states {
				st := engine.State(s)
				if !slices.Contains(engine.AllStates, st) {
					return fmt.Errorf("unknown state %q (states: %s)", s, strings.Join(stateNames(), ", "))
				}
				opts.States = append(opts.States, st)
			}
			opts.Ctx, opts.Out, opts.ErrOut = cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runRuns(opts)
		},
	}
	opts.add(cmd)
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "only runs of this repository")
	cmd.Flags().StringVar(&opts.Job, "job", "", "only runs of this job")
	cmd.Flags().StringSliceVar(&states, "state", nil, "only runs in these states (comma-separated)")
	cmd.Flags().IntVar(&opts.Limit, "limit", 50, "at most this many runs (0 = all)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return cmd
}

func runRuns(opts *RunsOptions) error {
	ctx := opts.Ctx
	d, err := openDaemon(ctx, opts.ErrOut, opts.daemonOptions(daemon.RoleReader))
	if err != nil {
		return err
	}
	defer d.Close()
	runs, err := d.Store().ListRuns(ctx, engine.RunFilter{Repo: opts.Repo, States: opts.States, Limit: opts.Limit})
	if err != nil {
		return err
	}
	if opts.Job != "" {
		kept := runs[:0]
		for _, r := range runs {
			if r.JobName == opts.Job {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	if opts.Output == "json" {
		for _, r := range runs {
			r.Manifest = ""
		}
		b, err := json.MarshalIndent(runs, "", "  ")
		if err != nil {
			return err
		}
		_, err = opts.Out.Write(append(termsafe.EscapeJSON(b), '\n'))
		return err
	}
	if errs, err := d.Store().PollErrors(ctx); err == nil {
		for _, pe := range errs {
			if opts.Repo != "" && opts.Repo != pe.Repo {
				continue
			}
			if pe.Warning() {
				fmt.Fprintf(opts.ErrOut, "warning: repository %s: %s\n", termsafe.Line(pe.Repo),
					termsafe.Line(strings.TrimPrefix(pe.String(), engine.PollWarning)))
				continue
			}
			fmt.Fprintf(opts.ErrOut, "warning: repository %s cannot be polled: %s\n", termsafe.Line(pe.Repo), termsafe.Line(pe.String()))
		}
	}
	return printRuns(opts.Out, runs, time.Now())
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
		reason := termsafe.Line(r.Reason)
		if len(r.Metrics) > 0 && r.State == engine.StateSucceeded {
			reason = console.Metrics(r.Metrics)
		}
		if utf8.RuneCountInString(reason) > 80 {
			reason = string([]rune(reason)[:77]) + "..."
		}
		safe := termsafe.Line
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(r.ID), safe(r.Repo), safe(r.JobName), safe(engine.ShortSHA(r.SHA)),
			console.Where(r), safe(string(r.State)), dur, now.Sub(r.CreatedAt).Round(time.Second), reason)
	}
	return tw.Flush()
}
