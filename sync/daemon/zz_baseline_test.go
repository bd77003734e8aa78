package daemon_test

import (
	"os/exec"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

func TestZZBaseline(t *testing.T) {
	job := "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 | head -c 100000000\n"
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"big/job.yaml": job}, "first")
	s := daemontest.Open(t, "", "", daemon.Options{Repos: []string{remote.URL}})
	runs, err := s.Once(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if runs[0].State != engine.StateSucceeded {
		t.Fatal(runs[0].State, runs[0].Reason)
	}
	out, _ := exec.Command("sh", "-c", "du -sk "+s.DataDir()+"/* "+s.DataDir()+"/runs/*; ls -ls "+s.DataDir()+" "+s.DataDir()+"/runs/*").CombinedOutput()
	t.Logf("%s", out)
}
