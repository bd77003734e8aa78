// Package termsafe makes text written by jobs and remotes (logs, ref
// names, metric names, reasons) safe to print on a terminal. A terminal
// obeys escape sequences: a job's output could set the window title, write
// the clipboard (OSC 52), move the cursor to overwrite earlier lines, or
// reorder text with bidi overrides (U+202E) so that what is shown is not
// what was written.
//
// Writer (and Text) keep what a log needs: printable text, newlines, tabs
// and SGR colour sequences (ESC [ digits ; m). Everything else is dropped:
// OSC, DCS, SOS, PM and APC strings (ended by BEL or ST, and here also by
// a newline, so that an unterminated one swallows one line at most), CSI
// sequences other than SGR, other escape sequences, C0 and C1 control
// characters, and bidi controls. A carriage return becomes a newline (a
// progress bar shows as one line per update instead of overwriting text),
// and invalid UTF-8 becomes U+FFFD.
//
// Line is for one-line fields (tables, console lines): no escape sequence
// at all passes, and control and bidi characters are shown as visible
// escapes (\x1b, \u202e) so that a hostile name is seen for what it is.
package termsafe

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxSGR bounds the parameters of a colour sequence kept; a longer one is
// dropped (nothing sane needs more).
const maxSGR = 64

// bidi reports whether r is a bidi control that can reorder what a
// terminal shows: the embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) and the marks (U+200E, U+200F, U+061C).
func bidi(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// state is where Writer is in an escape sequence.
type state uint8

const (
	ground   state = iota
	esc            // after ESC
	escInter       // ESC and intermediate bytes (ESC ( B): dropped
	csi            // ESC [ …, collecting parameters
	csiDrop        // a CSI that is not a colour: dropped to its final byte
	str            // inside OSC/DCS/SOS/PM/APC: dropped to BEL, ST or newline
	strEsc         // ESC inside a string: ST (ESC \) or a new sequence
)

// Writer filters text for a terminal and writes it to W. Sequences split
// across writes are handled; Flush ends the text. It is not safe for
// concurrent use.
type Writer struct {
	w     io.Writer
	st    state
	cr    bool   // a carriage return waits to see whether a newline follows
	param []byte // SGR parameters collected in state csi
	part  []byte // the start of a UTF-8 sequence cut by the end of a write
	out   []byte
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write filters p; it reports len(p) unless w's writer fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.out = w.out[:0]
	w.filter(p)
	if len(w.out) > 0 {
		if _, err := w.w.Write(w.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what a write cut short: a carriage return (as a newline),
// and an incomplete UTF-8 sequence (as U+FFFD). An escape sequence still
// open is dropped.
func (w *Writer) Flush() error {
	w.out = w.out[:0]
	w.end()
	if len(w.out) == 0 {
		return nil
	}
	_, err := w.w.Write(w.out)
	return err
}

func (w *Writer) end() {
	if len(w.part) > 0 {
		w.part = nil
		w.emitRune(utf8.RuneError)
	}
	if w.cr {
		w.cr = false
		w.out = append(w.out, '\n')
	}
	w.st, w.param = ground, w.param[:0]
}

// Text is s filtered as Writer filters a whole text.
func Text(s string) string {
	w := &Writer{}
	w.filter([]byte(s))
	w.end()
	return string(w.out)
}

func (w *Writer) filter(p []byte) {
	if len(w.part) > 0 {
		p = append(w.part, p...) // the rune the previous write cut
		w.part = nil
	}
	for i := 0; i < len(p); {
		if w.st == ground && !w.cr {
			// Fast path: a run of plain text is copied as it is.
			j := i
			for j < len(p) && (p[j] >= 0x20 && p[j] < 0x7f || p[j] == '\n' || p[j] == '\t') {
				j++
			}
			w.out = append(w.out, p[i:j]...)
			if i = j; i == len(p) {
				break
			}
		}
		c := p[i]
		if c < utf8.RuneSelf {
			w.byte(c)
			i++
			continue
		}
		if !utf8.FullRune(p[i:]) {
			w.part = append([]byte(nil), p[i:]...)
			return
		}
		r, size := utf8.DecodeRune(p[i:])
		w.rune(r)
		i += size
	}
}

// byte handles one ASCII byte.
func (w *Writer) byte(c byte) {
	switch w.st {
	case esc:
		switch {
		case c == '[':
			w.st, w.param = csi, w.param[:0]
		case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
			w.st = str
		case c == 0x1b:
		case c >= 0x20 && c <= 0x2f:
			w.st = escInter
		case c >= 0x30 && c <= 0x7e:
			w.st = ground // a two-byte sequence (ESC c resets the terminal): dropped
		default:
			w.st = ground // not a sequence: the ESC is dropped, c is text
			w.byte(c)
		}
		return
	case escInter:
		switch {
		case c >= 0x20 && c <= 0x2f:
		case c >= 0x30 && c <= 0x7e:
			w.st = ground
		default:
			w.st = ground
			w.byte(c)
		}
		return
	case csi, csiDrop:
		switch {
		case c >= 0x40 && c <= 0x7e: // the final byte
			if w.st == csi && c == 'm' {
				w.flushCR()
				w.out = append(append(append(w.out, 0x1b, '['), w.param...), 'm')
			}
			w.st = ground
		case c >= 0x20 && c <= 0x3f:
			if w.st == csi && (c >= '0' && c <= '9' || c == ';' || c == ':') && len(w.param) < maxSGR {
				w.param = append(w.param, c)
			} else {
				w.st = csiDrop // private markers, intermediates, too long: not a colour
			}
		default:
			w.st = ground // broken sequence: dropped, c is text
			w.byte(c)
		}
		return
	case str:
		switch c {
		case 0x07:
			w.st = ground
		case 0x1b:
			w.st = strEsc
		case '\n':
			w.st = ground
			w.byte(c)
		}
		return
	case strEsc:
		if c == '\\' {
			w.st = ground
			return
		}
		w.st = esc // ESC began a new sequence
		w.byte(c)
		return
	}
	// ground
	switch {
	case c == '\r':
		w.flushCR()
		w.cr = true
	case c == '\n':
		w.cr = false
		w.out = append(w.out, '\n')
	case c == 0x1b:
		w.st = esc
	case c == '\t' || c >= 0x20 && c < 0x7f:
		w.flushCR()
		w.out = append(w.out, c)
	default: // other C0 controls, DEL
	}
}

// rune handles one decoded non-ASCII rune (RuneError for invalid bytes).
func (w *Writer) rune(r rune) {
	if w.st == str {
		if r == 0x9c { // C1 ST
			w.st = ground
		}
		return
	}
	if w.st != ground {
		w.st = ground // a broken sequence is dropped
	}
	switch {
	case r == 0x9b: // C1 CSI
		w.st = csiDrop
	case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // C1 DCS, SOS, OSC, PM, APC
		w.st = str
	case r >= 0x80 && r <= 0x9f, bidi(r):
	default:
		w.emitRune(r)
	}
}

func (w *Writer) emitRune(r rune) {
	w.flushCR()
	w.out = utf8.AppendRune(w.out, r)
}

// flushCR writes a pending carriage return as a newline.
func (w *Writer) flushCR() {
	if w.cr {
		w.cr = false
		w.out = append(w.out, '\n')
	}
}

// Line makes s one line safe for a terminal table or report line: line
// breaks and tabs become spaces; other control characters, DEL, C1
// controls, bidi controls and invalid bytes are written as visible Go
// escapes (\x1b, \u202e, \xff). Printable text, also non-ASCII, is kept.
func Line(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, bidi(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII only (the common case).
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// EscapeJSON rewrites JSON text (as encoding/json writes it) so that no
// C1 control, bidi control or DEL reaches a terminal raw: such runes can
// only stand inside strings, where \uXXXX means the same. encoding/json
// already escapes C0 controls.
func EscapeJSON(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= 0x7f }) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || r >= 0x80 && r <= 0x9f || bidi(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
