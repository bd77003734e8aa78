package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// parse runs cmd's flag parsing and argument checks only: its runF
// captures the options instead of running.
func parse(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}

func TestFlagsParseIntoOptions(t *testing.T) {
	var sync *SyncOptions
	if err := parse(t, NewCmdSync(func(o *SyncOptions) error { sync = o; return nil }),
		"--once", "--job", "a,b", "--job", "c", "--listen", "127.0.0.1:0", "--config", "g.yaml", "--data-dir", "d", "repo1", "repo2"); err != nil {
		t.Fatal(err)
	}
	if !sync.Once || !reflect.DeepEqual(sync.Jobs, []string{"a", "b", "c"}) || sync.Listen != "127.0.0.1:0" ||
		sync.Config != "g.yaml" || sync.DataDir != "d" || !reflect.DeepEqual(sync.Repos, []string{"repo1", "repo2"}) {
		t.Errorf("sync options: %+v", sync)
	}

	var run *RunOptions
	if err := parse(t, NewCmdRun(func(o *RunOptions) error { run = o; return nil }),
		".", "--job", "hello", "--ref", "dev", "-d", "--no-logs", "--untrusted"); err != nil {
		t.Fatal(err)
	}
	if run.Repo != "." || run.Ref != "dev" || !run.Detach || !run.NoLogs || !run.Untrusted || run.Jobs[0] != "hello" {
		t.Errorf("run options: %+v", run)
	}

	var runs *RunsOptions
	if err := parse(t, NewCmdRuns(func(o *RunsOptions) error { runs = o; return nil }),
		"--state", "failed,error", "--repo", "m", "--job", "j", "--limit", "0", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(runs.States, []engine.State{engine.StateFailed, engine.StateError}) || runs.Repo != "m" ||
		runs.Job != "j" || runs.Limit != 0 || runs.Output != "json" {
		t.Errorf("runs options: %+v", runs)
	}

	var logs *LogsOptions
	if err := parse(t, NewCmdLogs(func(o *LogsOptions) error { logs = o; return nil }), "-f", "--raw", "3kq7"); err != nil {
		t.Fatal(err)
	}
	if logs.Run != "3kq7" || !logs.Follow || !logs.Raw {
		t.Errorf("logs options: %+v", logs)
	}

	var cancel *CancelOptions
	if err := parse(t, NewCmdCancel(func(o *CancelOptions) error { cancel = o; return nil }), "3kq7", "--reason", "wrong lr"); err != nil {
		t.Fatal(err)
	}
	if cancel.Run != "3kq7" || cancel.Reason != "wrong lr" {
		t.Errorf("cancel options: %+v", cancel)
	}

	var render *RenderOptions
	if err := parse(t, NewCmdRender(func(o *RenderOptions) error { render = o; return nil }),
		"job.yaml", "--sha", "abc", "--ref", "refs/pull/7/head", "--pr", "7", "-o", "json", "--untrusted"); err != nil {
		t.Fatal(err)
	}
	if render.Path != "job.yaml" || render.PR != 7 || render.Output != "json" || !render.Untrusted || render.Trigger != "manual" {
		t.Errorf("render options: %+v", render)
	}
}

func TestFlagsRefuseBadInput(t *testing.T) {
	never := func(t *testing.T) func() {
		return func() { t.Error("the command ran despite bad input") }
	}
	tests := []struct {
		name string
		cmd  func(ran func()) *cobra.Command
		args []string
		want string
	}{
		{"runs state", func(ran func()) *cobra.Command {
			return NewCmdRuns(func(*RunsOptions) error { ran(); return nil })
		}, []string{"--state", "done"}, `unknown state "done"`},
		{"runs output", func(ran func()) *cobra.Command {
			return NewCmdRuns(func(*RunsOptions) error { ran(); return nil })
		}, []string{"-o", "xml"}, "-o must be table or json"},
		{"render needs sha", func(ran func()) *cobra.Command {
			return NewCmdRender(func(*RenderOptions) error { ran(); return nil })
		}, []string{"job.yaml"}, "--sha and --ref are required"},
		{"clone needs dest", func(ran func()) *cobra.Command {
			return NewCmdClone(func(*CloneOptions) error { ran(); return nil })
		}, []string{"--repo", "r", "--sha", "s"}, "--repo, --sha and --dest are required"},
		{"logs needs a run", func(ran func()) *cobra.Command {
			return NewCmdLogs(func(*LogsOptions) error { ran(); return nil })
		}, nil, "accepts 1 arg"},
		{"validate output", func(ran func()) *cobra.Command {
			return NewCmdValidate(func(*ValidateOptions) error { ran(); return nil })
		}, []string{"-o", "yaml"}, "-o must be text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parse(t, tt.cmd(never(t)), tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
