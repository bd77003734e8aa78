package web

import (
	"net/http"
	"time"
)

// Stream exempts a streaming response (a whole log, live logs, server-sent
// events) from the server's ReadTimeout and WriteTimeout, which would cut
// it off however fast the client reads: each Write and Flush through the
// returned writer gets StreamWriteTimeout to complete instead, so a client
// that stops reading is still disconnected. Call it before the first
// write, in handlers of requests without a body, and write through what
// it returns. A streaming handler must end when the request's context
// does: the client left, or the server is shutting down.
//
// Outside a server from NewHTTPServer (an httptest server, a recorder) the
// default StreamWriteTimeout applies, and deadlines the connection does
// not support are left alone.
func Stream(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	d := DefaultLimits().StreamWriteTimeout
	if l, ok := r.Context().Value(limitsKey{}).(Limits); ok {
		d = l.StreamWriteTimeout
	}
	rc := http.NewResponseController(w)
	// With ReadTimeout past, the server's wait for the client to hang up
	// would fail and cancel the request's context: wait without a deadline
	// (a client that hangs up still ends the context).
	_ = rc.SetReadDeadline(time.Time{})
	return &streamWriter{ResponseWriter: w, rc: rc, timeout: d}
}

type streamWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (s *streamWriter) extend() { _ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) }

func (s *streamWriter) Write(p []byte) (int, error) {
	s.extend()
	return s.ResponseWriter.Write(p)
}

func (s *streamWriter) WriteHeader(code int) {
	s.extend()
	s.ResponseWriter.WriteHeader(code)
}

// Flush sends what is buffered, within the same per-write deadline.
func (s *streamWriter) Flush() {
	s.extend()
	_ = s.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
