package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// maxHeaderToken bounds event names and delivery IDs (GitHub's IDs are
// UUIDs).
const maxHeaderToken = 100

// validHeaderToken accepts an event name or delivery ID: printable ASCII
// without spaces, at most maxHeaderToken bytes.
func validHeaderToken(s string) bool {
	if s == "" || len(s) > maxHeaderToken {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// parseSignature reads "sha256=<64 hex digits>".
func parseSignature(header string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(hexSig)
	return sig, err == nil
}

// errBadSignature: the body does not match its signature.
var errBadSignature = errors.New("wrong X-Hub-Signature-256")

// bodyChunk is the unit bodies are read in.
const bodyChunk = 64 << 10

// chunks recycles the chunks bodies are read into. Without it, every
// forged 25 MiB body leaves 25 MiB of garbage behind, and the collector
// lets the heap grow to about twice what is in flight before it frees
// any; with it, a body reuses the chunks of those before it, so memory
// follows what is in flight, however many bodies come and go. A sync.Pool
// rather than a free list: what an attack left behind is freed by the
// next collections once it is over.
var chunks = sync.Pool{New: func() any { return new([bodyChunk]byte) }}

// readSigned reads r's body, at most MaxBody bytes, into pooled chunks,
// hashing it as it goes, and returns it if its HMAC-SHA256 is sig
// (compared in constant time). release gives the chunks back; the body
// must not be used after it.
func (h *WebhookHandler) readSigned(w http.ResponseWriter, r *http.Request, sig []byte) (body []byte, release func(), err error) {
	mac := hmac.New(sha256.New, h.o.Secret)
	src := http.MaxBytesReader(w, r.Body, h.o.MaxBody)
	var held []*[bodyChunk]byte
	release = func() {
		for _, c := range held {
			chunks.Put(c)
		}
	}
	total, last := 0, 0
	for err == nil {
		c := chunks.Get().(*[bodyChunk]byte)
		held = append(held, c)
		last, err = fill(src, c[:])
		mac.Write(c[:last])
		total += last
	}
	if err != io.EOF {
		release()
		return nil, nil, err
	}
	if !hmac.Equal(mac.Sum(nil), sig) {
		release()
		return nil, nil, errBadSignature
	}
	if len(held) == 1 {
		return held[0][:last], release, nil
	}
	// A genuine delivery of more than a chunk: JSON wants it in one piece.
	body = make([]byte, 0, total)
	for i, c := range held {
		n := bodyChunk
		if i == len(held)-1 {
			n = last
		}
		body = append(body, c[:n]...)
	}
	release()
	return body, func() {}, nil
}

// fill reads into c until it is full (nil error) or the reader fails
// (io.EOF at the end).
func fill(r io.Reader, c []byte) (int, error) {
	n := 0
	for n < len(c) {
		k, err := r.Read(c[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readFailure maps an error of readSigned to an answer.
func readFailure(err error) (int, string) {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.Is(err, errBadSignature):
		return http.StatusUnauthorized, err.Error()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "payload too large"
	case errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusRequestTimeout, "the body came too slowly"
	}
	return http.StatusBadRequest, "cannot read the body"
}

// formPayload returns the JSON of a delivery: the body, or its payload
// field when the webhook was configured as application/x-www-form-urlencoded.
func formPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form payload: %w", err)
	}
	return []byte(form.Get("payload")), nil
}
