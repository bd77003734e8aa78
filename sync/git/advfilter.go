package git

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxAdvertisement bounds the ref advertisement the filter reads into
// memory (a repository with a million refs advertises about 100 MB; a
// larger one is passed on unfiltered).
const maxAdvertisement = 256 << 20

// advFilter drops ref lines go-git cannot decode from HTTP ref
// advertisements (GET …/info/refs): a name with a space, which a remote's
// packed-refs can hold although no git command creates one, makes go-git
// refuse the whole advertisement, and so every ref of the repository. The
// names dropped are recorded for the poll's warnings; everything else is
// passed on byte for byte.
type advFilter struct {
	next http.RoundTripper

	mu      sync.Mutex
	dropped []string
}

func (f *advFilter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/info/refs") ||
		resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAdvertisement+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read ref advertisement: %w", err)
	}
	if len(body) <= maxAdvertisement {
		var dropped []string
		body, dropped = filterAdvertisement(body)
		if len(dropped) > 0 {
			f.mu.Lock()
			f.dropped = append(f.dropped, dropped...)
			f.mu.Unlock()
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// take returns and forgets the names dropped since the last take.
func (f *advFilter) take() []string {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dropped
	f.dropped = nil
	return d
}

// filterAdvertisement removes the ref lines whose name holds a space from
// a smart HTTP advertisement (pkt-lines). When the line dropped carried
// the capabilities (the first ref line), they move to the next ref line,
// or to a "capabilities^{}" line when none is left. Anything it does not
// understand is returned unchanged, for go-git to judge.
func filterAdvertisement(adv []byte) ([]byte, []string) {
	var out bytes.Buffer
	var dropped []string
	var caps []byte // capabilities of a dropped line, not placed yet
	hashLen := 0
	for rest := adv; len(rest) > 0; {
		if len(rest) < 4 {
			return adv, nil
		}
		var n [2]byte
		if _, err := hex.Decode(n[:], rest[:4]); err != nil {
			return adv, nil
		}
		size := int(n[0])<<8 | int(n[1])
		if size == 0 { // flush: the end of a section
			if caps != nil && hashLen > 0 {
				writePkt(&out, strings.Repeat("0", hashLen)+" capabilities^{}\x00"+string(caps)+"\n")
				caps = nil
			}
			out.WriteString("0000")
			rest = rest[4:]
			continue
		}
		if size < 4 || size > len(rest) {
			return adv, nil
		}
		line := rest[4:size]
		rest = rest[size:]
		hash, ref, ok := bytes.Cut(line, []byte(" "))
		if !ok || !isHex(hash) || bytes.HasPrefix(line, []byte("# ")) {
			writePkt(&out, string(line)) // not a ref line: as it was
			continue
		}
		hashLen = len(hash)
		name, lineCaps, hasCaps := bytes.Cut(bytes.TrimSuffix(ref, []byte("\n")), []byte{0})
		if bytes.IndexByte(name, ' ') >= 0 {
			dropped = append(dropped, string(name))
			if hasCaps {
				caps = bytes.Clone(lineCaps)
			}
			continue
		}
		if caps != nil && !hasCaps {
			writePkt(&out, string(hash)+" "+string(name)+"\x00"+string(caps)+"\n")
			caps = nil
			continue
		}
		writePkt(&out, string(line))
	}
	if len(dropped) == 0 {
		return adv, nil
	}
	return out.Bytes(), dropped
}

func writePkt(b *bytes.Buffer, payload string) {
	fmt.Fprintf(b, "%04x%s", len(payload)+4, payload)
}

func isHex(b []byte) bool {
	if len(b) != 40 && len(b) != 64 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
