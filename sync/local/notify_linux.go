package local

import (
	"os"
	"syscall"
)

// fileWatch wakes the follower when the output file is written, so output
// reaches the sink without waiting for the next poll. When inotify is not
// available the follower only polls.
type fileWatch struct {
	f *os.File
	C chan struct{}
}

// watchFile starts watching name; the returned watch is never nil. Its
// reader goroutine is owned by the caller: it ends when close is called.
func watchFile(name string, done func()) *fileWatch {
	w := &fileWatch{C: make(chan struct{}, 1)}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		done()
		return w
	}
	if _, err := syscall.InotifyAddWatch(fd, name, syscall.IN_MODIFY); err != nil {
		syscall.Close(fd)
		done()
		return w
	}
	// A non-blocking fd in os.NewFile is served by the runtime poller, so
	// Close interrupts a pending Read.
	w.f = os.NewFile(uintptr(fd), "inotify")
	go func() {
		defer done()
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return
			}
			select {
			case w.C <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

func (w *fileWatch) close() {
	if w.f != nil {
		w.f.Close()
	}
}
