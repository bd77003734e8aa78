package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

// errLocked means another process dispatches runs for the data directory.
var errLocked = errors.New("another gitlaunch process dispatches runs for this data directory")

// dirLock is the data directory's dispatch lock: only its holder launches
// runs, so two processes never launch the same queued run. The kernel
// releases it when the process dies, however it dies.
type dirLock struct{ f *os.File }

func lockDir(dataDir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "dispatch.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return &dirLock{f: f}, nil
}

// Release gives the lock up.
func (l *dirLock) Release() error {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}

// requestExecutor stands in when another process dispatches: this process
// only plans and watches, and asks the dispatcher (through the store) to
// cancel.
type requestExecutor struct{ st *store.Store }

var errNotDispatcher = errors.New("this process does not dispatch runs")

func (requestExecutor) Start(context.Context, engine.Launch, engine.Sink) error {
	return errNotDispatcher
}

func (requestExecutor) Adopt(context.Context, engine.Launch, engine.Sink) error {
	return errNotDispatcher
}

func (x requestExecutor) Cancel(ctx context.Context, id string) error {
	return x.st.RequestCancel(ctx, engine.CancelRequest{RunID: id, Reason: "superseded", By: "gitlaunch"})
}
