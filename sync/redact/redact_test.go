package redact_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// A secret with characters that HTML, URLs and JSON escape.
const secret = `s3cr&t<x>"k+/y=`

const ghToken = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"

func TestString(t *testing.T) {
	r := redact.New("abc", "  swordfish-123 \n", "swordfish-123456", secret,
		"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----")
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	tests := []struct{ name, in, want string }{
		{"plain", "pw=swordfish-123 ok", "pw=*** ok"},
		{"longest whole", "pw=swordfish-123456!", "pw=***!"},
		{"too short", "abc is too short to hide", "abc is too short to hide"},
		{"line of a multi-line value", "line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC of a key", "line *** of a key"},
		{"tokens", "token " + ghToken + " and github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "token *** and ***"},
		{"token inside a word is not one", "x" + ghToken, "x" + ghToken},
		{"html specials", "got " + secret + "!", "got ***!"},
		{"base64", "b64 " + b64, "b64 ***"},
		{"base64 unpadded", "b64 " + strings.TrimRight(b64, "="), "b64 ***"},
		{"base64url", base64.URLEncoding.EncodeToString([]byte(secret)), "***"},
		{"base64 with a newline", base64.StdEncoding.EncodeToString([]byte(secret + "\n")), "***"},
		{"base64 inside longer data", base64.StdEncoding.EncodeToString([]byte("user:" + secret + "@host")), "***"},
		{"query escape", "?k=" + url.QueryEscape(secret), "?k=***"},
		{"path escape", "/p/" + url.PathEscape(secret) + "/", "/p/***/"},
		{"lower-case percent", strings.ToLower(url.QueryEscape(secret)), "***"},
		{"hex", hex.EncodeToString([]byte(secret)), "***"},
		{"HEX", strings.ToUpper(hex.EncodeToString([]byte(secret))), "***"},
		{"json", `{"k":"s3cr\u0026t\u003cx\u003e\"k+/y="}`, `{"k":"***"}`},
		{"html escaped", "s3cr&amp;t&lt;x&gt;&#34;k+/y=", "***"},
		{"overlapping occurrences", "swordfish-swordfish-123", "swordfish-***"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.String(tt.in)
			if !strings.Contains(tt.want, "***") {
				if got != tt.want {
					t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			// Encodings inside longer data keep the characters that also
			// carry the neighbours' bits: only the mask itself is asserted.
			if tt.name == "base64 with a newline" || tt.name == "base64 inside longer data" {
				if !strings.Contains(got, "***") || strings.Contains(got, b64[4:12]) {
					t.Errorf("String(%q) = %q", tt.in, got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := redact.New().String("plain " + ghToken); got != "plain ***" {
		t.Errorf("no secrets: %q", got)
	}
	var nilR *redact.Redactor
	if got := nilR.String("plain " + ghToken); got != "plain ***" {
		t.Errorf("nil redactor: %q", got)
	}
}

func TestFormsMinLen(t *testing.T) {
	if f := redact.Forms("abc"); f != nil {
		t.Errorf("a 3-byte value has forms %q", f)
	}
	if f := redact.Forms("  \n"); f != nil {
		t.Errorf("white space has forms %q", f)
	}
	for _, f := range redact.Forms("abcd") {
		if len(f) < redact.MinLen {
			t.Errorf("form %q is shorter than MinLen", f)
		}
	}
}

// write streams in through r in the given piece sizes.
func write(r *redact.Redactor, in string, sizes func() int) string {
	var out bytes.Buffer
	var t redact.Tail
	for len(in) > 0 {
		n := min(sizes(), len(in))
		var b []byte
		b, t = r.Write(t, []byte(in[:n]))
		out.Write(b)
		in = in[n:]
	}
	out.Write(r.Flush(t))
	return out.String()
}

// TestStreamSplitEverywhere: a job printing its secret in pieces (one
// write per byte, or split at any point) is hidden exactly as if the log
// had come in one piece.
func TestStreamSplitEverywhere(t *testing.T) {
	r := redact.New("swordfish-123", secret)
	in := "a swordfish-123 b " + ghToken + " c " + base64.StdEncoding.EncodeToString([]byte(secret)) +
		" d swordfish-12 e " + secret + "\n"
	want := r.String(in)
	if strings.Contains(want, "swordfish-123") || strings.Contains(want, ghToken) {
		t.Fatalf("String leaks: %q", want)
	}
	for cut := range len(in) {
		var t2 redact.Tail
		a, t2 := r.Write(t2, []byte(in[:cut]))
		b, t2 := r.Write(t2, []byte(in[cut:]))
		got := string(a) + string(b) + string(r.Flush(t2))
		if got != want {
			t.Fatalf("split at %d: %q, want %q", cut, got, want)
		}
	}
	if got := write(r, in, func() int { return 1 }); got != want {
		t.Errorf("byte by byte: %q, want %q", got, want)
	}
}

// TestStreamHoldsLittle: what a stream holds back is at most what may
// still turn out to be a secret or a token; text that cannot is released
// at once (a progress line shows up without waiting for the next one).
func TestStreamHoldsLittle(t *testing.T) {
	r := redact.New("swordfish-123")
	out, tail := r.Write(redact.Tail{}, []byte("epoch 3/10 loss 0.5"))
	if string(out) != "epoch 3/10 loss 0.5" || tail.Len() != 0 {
		t.Errorf("released %q, held %d", out, tail.Len())
	}
	out, tail = r.Write(tail, []byte("key: swordf"))
	if string(out) != "key: " || tail.Len() != len("swordf") {
		t.Errorf("released %q, held %d", out, tail.Len())
	}
	out, tail = r.Write(tail, []byte("ish-123 done"))
	if string(out) != "***"+" done" || tail.Len() != 0 {
		t.Errorf("released %q, held %d", out, tail.Len())
	}
	// A word that may become a token is held until it ends.
	out, tail = r.Write(tail, []byte(" tok ghp_0123"))
	if string(out) != " tok " || tail.Len() != len("ghp_0123") {
		t.Errorf("released %q, held %d", out, tail.Len())
	}
	if got := string(r.Flush(tail)); got != "ghp_0123" {
		t.Errorf("flush: %q", got)
	}
}

// TestStreamRandom checks random logs with random piece sizes against the
// one-piece result.
func TestStreamRandom(t *testing.T) {
	secrets := []string{"swordfish-123", secret, "aaaa", "aaab"}
	r := redact.New(secrets...)
	rng := rand.New(rand.NewPCG(1, 2))
	words := append([]string{"a", "aa", "gh", "ghp_", "github_pat_", " ", "\n", "=", "x"}, secrets...)
	for _, s := range secrets {
		words = append(words, base64.StdEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)))
	}
	words = append(words, ghToken)
	for i := range 2000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		in := b.String()
		want := r.String(in)
		got := write(r, in, func() int { return 1 + rng.IntN(8) })
		if got != want {
			t.Fatalf("case %d %q:\nstream %q\nstring %q", i, in, got, want)
		}
	}
}

func FuzzStream(f *testing.F) {
	f.Add("swordfish-123 ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", uint64(3))
	f.Add(secret+secret[:5], uint64(1))
	r := redact.New("swordfish-123", secret, "aaaa")
	f.Fuzz(func(t *testing.T, in string, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed))
		want := r.String(in)
		got := write(r, in, func() int { return 1 + rng.IntN(16) })
		if got != want {
			t.Fatalf("stream %q, string %q", got, want)
		}
		for _, s := range []string{"swordfish-123", secret} {
			if strings.Contains(got, s) {
				t.Fatalf("%q leaks %q", got, s)
			}
		}
	})
}

// BenchmarkWrite measures a stream with 20 secrets against its floors: no
// secrets (GitHub tokens only) and a plain copy of the same bytes.
func BenchmarkWrite(b *testing.B) {
	var secrets []string
	for i := range 20 {
		secrets = append(secrets, fmt.Sprintf("secret-value-%02d-%x", i, i*7919))
	}
	var log bytes.Buffer
	for log.Len() < 64<<10 {
		fmt.Fprintf(&log, "step %d loss=0.%04d lr=3e-4 Training epoch 12/100 [=====>    ] ETA 00:31\n", log.Len(), log.Len()%9999)
	}
	p := log.Bytes()
	for _, bc := range []struct {
		name string
		r    *redact.Redactor
	}{{"secrets=20", redact.New(secrets...)}, {"secrets=0", redact.New()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			var t redact.Tail
			for range b.N {
				_, t = bc.r.Write(t, p)
			}
		})
	}
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for range b.N {
			_ = bytes.Clone(p)
		}
	})
}
