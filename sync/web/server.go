package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound the syncer's HTTP server in time and memory. A zero field
// takes its default from DefaultLimits. The defaults suit a webhook
// endpoint reachable from the internet plus a dashboard read by a few
// people: GitHub gives a delivery 10 s and caps its payload at 25 MiB.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 5s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default
	// 20s). A client that stops sending is disconnected when it passes.
	ReadTimeout time.Duration
	// WriteTimeout bounds a response, counted from the end of its
	// request's headers (default 30s). Streaming responses opt out with
	// Stream and get StreamWriteTimeout per write instead.
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection (default 60s).
	IdleTimeout time.Duration
	// StreamWriteTimeout bounds each write of a streaming response
	// (default 30s): a client that stops reading is cut off, one that
	// keeps up is served for as long as the handler writes.
	StreamWriteTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (default 32 KiB).
	MaxHeaderBytes int
	// MaxConns bounds open connections (default 256); LimitListener
	// enforces it.
	MaxConns int
	// MaxBody bounds one request's body (default 25 MiB, GitHub's cap;
	// never more than 7/8 of BodyBudget): a larger declared Content-Length
	// gets 413 before anything is read, a chunked body is cut there.
	MaxBody int64
	// BodyBudget bounds the bodies of all requests in flight together
	// (default 32 MiB). A request is charged its declared Content-Length,
	// or MaxBody when chunked, before its handler runs; one that does not
	// fit gets 503 at once, its body unread. Requests of more than
	// SmallBody bytes may use only 7/8 of the budget, so that small ones
	// (webhook deliveries are a few KiB) still get in when large ones have
	// taken their share.
	BodyBudget int64
}

// SmallBody is the size up to which a request body may use the whole of
// Limits.BodyBudget.
const SmallBody = 64 << 10

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout:  5 * time.Second,
		ReadTimeout:        20 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        60 * time.Second,
		StreamWriteTimeout: 30 * time.Second,
		MaxHeaderBytes:     32 << 10,
		MaxConns:           256,
		MaxBody:            25 << 20,
		BodyBudget:         32 << 20,
	}
}

// withDefaults fills the zero fields of l and keeps MaxBody within the
// share of the budget a large body may take.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	set(&l.ReadTimeout, d.ReadTimeout)
	set(&l.WriteTimeout, d.WriteTimeout)
	set(&l.IdleTimeout, d.IdleTimeout)
	set(&l.StreamWriteTimeout, d.StreamWriteTimeout)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.BodyBudget <= 0 {
		l.BodyBudget = d.BodyBudget
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	l.MaxBody = min(l.MaxBody, largeShare(l.BodyBudget))
	return l
}

// largeShare is how much of a budget bodies over SmallBody may hold.
func largeShare(budget int64) int64 { return budget - budget/8 }

// NewHTTPServer returns a server for h bounded by l (zero fields take
// their defaults): every timeout set, headers capped, and request bodies
// charged to a budget shared by all requests. Serve it on a LimitListener
// with the same limits to bound connections too.
//
// Shutdown cancels the contexts of the requests in flight, so that
// streaming responses, which would otherwise run until the client leaves,
// end; handlers take a cancelled context as the end of the request, not
// as an error (this package's Server does).
func NewHTTPServer(h http.Handler, l Limits) *http.Server {
	l = l.withDefaults()
	base, stop := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           &bounded{next: h, l: l, budget: &budget{total: l.BodyBudget, large: largeShare(l.BodyBudget)}},
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(stop)
	return srv
}

// bounded charges each request's body to the budget before h runs.
type bounded struct {
	next   http.Handler
	l      Limits
	budget *budget
}

type limitsKey struct{}

func (b *bounded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), limitsKey{}, b.l))
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		b.next.ServeHTTP(w, r)
		return
	}
	n := r.ContentLength
	if n > b.l.MaxBody {
		refuse(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if n < 0 { // chunked: charged the most it may send
		n = b.l.MaxBody
		r.Body = http.MaxBytesReader(w, r.Body, n)
	}
	if !b.budget.take(n) {
		w.Header().Set("Retry-After", "1")
		refuse(w, http.StatusServiceUnavailable, "busy: too many request bodies in flight")
		return
	}
	defer b.budget.give(n)
	b.next.ServeHTTP(w, r)
}

// refuse answers without reading the request's body and closes the
// connection. The read deadline set to now keeps the server from reading
// up to 256 KiB of the body after the answer, which it does even on a
// connection it closes.
func refuse(w http.ResponseWriter, code int, msg string) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// budget counts the body bytes of the requests in flight.
type budget struct {
	mu           sync.Mutex
	total, large int64 // capacity, and the part bodies over SmallBody may use
	used         int64
}

// take charges n bytes if they fit, without waiting.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := b.total
	if n > SmallBody {
		limit = b.large
	}
	if b.used+n > limit {
		return false
	}
	b.used += n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}
