package daemon

import (
	"cmp"
	"path/filepath"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/retention"
)

// storeReserve is the room the dispatching process holds for the store's
// state writes, so that a run that filled the data directory can still be
// recorded as ended, with its reason.
const storeReserve = 1 << 20

// keepReserve makes the store's space reserve when this process
// dispatches; without the room for it the syncer runs on, and says so.
func (d *Daemon) keepReserve() {
	if d.lock == nil {
		return
	}
	if err := d.store.KeepReserve(storeReserve); err != nil {
		d.log.Warn("the data directory has no room for the store's space reserve; a full disk may keep runs from being recorded as ended", "err", err)
	}
}

// retentionEvery is the time between retention sweeps, unless a test
// says otherwise (Options.RetentionEvery).
const retentionEvery = 10 * time.Minute

// sweeper applies sync.retention, removing workspaces where this process
// can reach them: the local executor's run folders, or the kube
// executor's subPaths on the results volume when the syncer mounts it.
func (d *Daemon) sweeper() (*retention.Sweeper, error) {
	cfg := d.setup.Config
	var ws retention.Workspaces
	if w, ok := d.exec.(retention.Workspaces); ok {
		ws = w
	} else if cfg.Executor == "kube" && cfg.Results.MountPath != "" {
		ws = retention.Folders{Dir: filepath.Join(cfg.Results.MountPath, "runs")}
	}
	return retention.New(retention.Options{
		Policy:     retention.Policy{MaxAge: cfg.Sync.Retention.MaxAge.Duration, KeepPerJob: cfg.Sync.Retention.KeepPerJob},
		Store:      d.store,
		Workspaces: ws,
		Every:      cmp.Or(d.opts.RetentionEvery, retentionEvery),
		Clock:      d.opts.Clock,
		Logger:     d.log,
	})
}
