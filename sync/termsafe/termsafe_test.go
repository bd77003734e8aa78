package termsafe_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "epoch 1\tloss 0.5\n", "epoch 1\tloss 0.5\n"},
		{"colours kept", "\x1b[31mred\x1b[0m \x1b[1;38;5;196mX\x1b[m", "\x1b[31mred\x1b[0m \x1b[1;38;5;196mX\x1b[m"},
		{"title (OSC 0, BEL)", "\x1b]0;pwned\x07after", "after"},
		{"clipboard (OSC 52, ST)", "\x1b]52;c;cHduZWQ=\x1b\\after", "after"},
		{"hyperlink (OSC 8)", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"unterminated OSC ends at the line", "\x1b]0;title\nnext", "\nnext"},
		{"clear screen and cursor", "\x1b[2J\x1b[Hx\x1b[1A\x1b[K", "x"},
		{"private CSI", "\x1b[?25lhidden cursor\x1b[?1049h", "hidden cursor"},
		{"reset (ESC c)", "\x1bcX", "X"},
		{"charset (ESC ( B)", "\x1b(BX", "X"},
		{"DCS", "\x1bPq#0;2;0;0;0\x1b\\ok", "ok"},
		{"broken CSI", "\x1b[31\nx", "\nx"},
		{"CSI with a too long colour", "\x1b[" + strings.Repeat("1;", 40) + "mx", "x"},
		{"bidi overrides", "a\u202eb\u2066c\u2069d\u200fe", "abcde"},
		{"C1 CSI", "\u009b31mX", "X"},
		{"C1 OSC and ST", "\u009d0;t\u009cok", "ok"},
		{"CRLF", "a\r\nb", "a\nb"},
		{"lone CR", "10%\r20%\r", "10%\n20%\n"},
		{"C0 and DEL", "a\x00b\x07c\x08d\x7fe", "abcde"},
		{"invalid UTF-8", "a\xffb\xe2\x82", "a\uFFFDb\uFFFD"},
		{"non-ASCII kept", "정확도 ✓ naïve", "정확도 ✓ naïve"},
		{"ESC ESC", "\x1b\x1b[32mg", "\x1b[32mg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := termsafe.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Written in pieces of every size, the same comes out.
			for size := 1; size <= len(tt.in); size++ {
				if got := write(tt.in, func() int { return size }); got != tt.want {
					t.Fatalf("in pieces of %d: %q, want %q", size, got, tt.want)
				}
			}
		})
	}
}

func write(in string, sizes func() int) string {
	var b bytes.Buffer
	w := termsafe.NewWriter(&b)
	for len(in) > 0 {
		n := min(sizes(), len(in))
		if m, err := w.Write([]byte(in[:n])); m != n || err != nil {
			panic("short write")
		}
		in = in[n:]
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

func TestLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"refs/heads/main", "refs/heads/main"},
		{"refs/heads/\x1b]0;pwned\x07", `refs/heads/\x1b]0;pwned\x07`},
		{"loss\u202e", `loss\u202e`},
		{"two\nlines\tand tab", "two lines and tab"},
		{"bad\xffbyte", `bad\xffbyte`},
		{"\u009b2J", `\u009b2J`},
		{"정확도", "정확도"},
	}
	for _, tt := range tests {
		if got := termsafe.Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEscapeJSON(t *testing.T) {
	b, err := json.Marshal(map[string]string{"ref": "refs/heads/\u202eevil\u009b\x7f\x1b"})
	if err != nil {
		t.Fatal(err)
	}
	out := termsafe.EscapeJSON(b)
	if bad := unsafeIn(string(out)); bad != "" {
		t.Errorf("%s: %s", out, bad)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["ref"] != "refs/heads/\u202eevil\u009b\x7f\x1b" {
		t.Errorf("round trip: %q %v", back, err)
	}
}

var sgr = regexp.MustCompile(`^\x1b\[[0-9;:]{0,64}m`)

// unsafeIn says what in s could command a terminal, or "".
func unsafeIn(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		switch {
		case r == 0x1b && sgr.MatchString(s[i:]):
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f:
			return "control character"
		case r >= 0x80 && r <= 0x9f:
			return "C1 control"
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return "bidi control"
		}
	}
	return ""
}

// FuzzWriter: whatever a job prints, in whatever pieces, the output holds
// no escape but SGR colours, no control but newline and tab, no C1 or
// bidi control, and is valid UTF-8; pieces make no difference.
func FuzzWriter(f *testing.F) {
	f.Add("\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r\n", uint64(1))
	f.Add("\u009b31m\u202e\xff\x1b[?25l\x1bP\x1b\\", uint64(2))
	f.Fuzz(func(t *testing.T, in string, seed uint64) {
		whole := termsafe.Text(in)
		if bad := unsafeIn(whole); bad != "" {
			t.Fatalf("Text(%q) = %q: %s", in, whole, bad)
		}
		rng := rand.New(rand.NewPCG(seed, seed))
		if got := write(in, func() int { return 1 + rng.IntN(8) }); got != whole {
			t.Fatalf("in pieces %q, whole %q", got, whole)
		}
	})
}

func FuzzLine(f *testing.F) {
	f.Add("refs/heads/\x1b]0;x\x07\u202e\xff\n")
	f.Fuzz(func(t *testing.T, in string) {
		got := termsafe.Line(in)
		if bad := unsafeIn(got); bad != "" || strings.ContainsAny(got, "\x1b\n\t") {
			t.Fatalf("Line(%q) = %q: %s", in, got, bad)
		}
	})
}

// BenchmarkWriter measures a coloured training log through Writer against
// its floor, a plain copy of the same bytes.
func BenchmarkWriter(b *testing.B) {
	var log bytes.Buffer
	for log.Len() < 64<<10 {
		log.WriteString("\x1b[32mstep 120\x1b[0m loss=0.0312 lr=3e-4 Training epoch 12/100 [=====>    ] ETA 00:31\r")
	}
	p := log.Bytes()
	b.Run("termsafe", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		w := termsafe.NewWriter(io.Discard)
		for range b.N {
			_, _ = w.Write(p)
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for range b.N {
			_, _ = io.Discard.Write(bytes.Clone(p))
		}
	})
}
