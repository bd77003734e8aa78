package git

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

func TestCheckRefName(t *testing.T) {
	for _, name := range []string{"refs/heads/main", "refs/heads/feature/x-1", "refs/pull/7/head", "refs/heads/\u202eevil", "refs/heads/v1.2"} {
		if why := checkRefName(name); why != "" {
			t.Errorf("%q refused: %s", name, why)
		}
	}
	for _, name := range []string{"refs/heads/../../config", "refs/heads/a..b", "refs/heads/.hidden", "refs/heads/x.lock",
		"refs/heads/a//b", "refs/heads/a/", "refs/heads/a.", "refs/heads/a@{1}", "@", "refs/heads/\x1b[31m", "refs/heads/a\x7f",
		"refs/heads/a b", "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b", "refs/heads/a?", "refs/heads/a*", "refs/heads/a[",
		"refs/heads/a\\b", "refs/heads/\xff", "/refs/heads/a"} {
		if checkRefName(name) == "" {
			t.Errorf("%q accepted", name)
		}
	}
}

// TestAdvertisedSkipsDangerousNames: a ref whose name would leave the
// cache's refs folder (real git refuses to advertise it, a hostile server
// need not) and a default branch pointing at one are left out.
func TestAdvertisedSkipsDangerousNames(t *testing.T) {
	h := plumbing.NewHash("0123456789012345678901234567890123456789")
	ar := packp.NewAdvRefs()
	ar.References = map[string]plumbing.Hash{
		"refs/heads/main": h, "refs/heads/../../config": h, "refs/heads/broken": plumbing.ZeroHash,
	}
	if err := ar.Capabilities.Add(capability.SymRef, "HEAD:refs/heads/../../config"); err != nil {
		t.Fatal(err)
	}
	refs, head, warnings := advertised(ar)
	if len(refs) != 1 || refs["refs/heads/main"] != h || head != "main" {
		t.Errorf("refs %v head %q", refs, head)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], `"refs/heads/../../config"`) || !strings.Contains(warnings[1], "without a commit") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestFilterAdvertisement(t *testing.T) {
	pkt := func(s string) string { var b strings.Builder; writePktTo(&b, s); return b.String() }
	const a, z = "1111111111111111111111111111111111111111", "0000000000000000000000000000000000000000"
	head := pkt("# service=git-upload-pack\n") + "0000"
	tests := []struct {
		name, in, want string
		dropped        []string
	}{
		{"clean", head + pkt(a+" refs/heads/main\x00caps\n") + "0000", "", nil},
		{"caps move to the next line", head + pkt(a+" refs/heads/sp ace\x00caps x\n") + pkt(a+" refs/heads/main\n") + "0000",
			head + pkt(a+" refs/heads/main\x00caps x\n") + "0000", []string{"refs/heads/sp ace"}},
		{"the only ref", head + pkt(a+" refs/heads/sp ace\x00caps\n") + "0000",
			head + pkt(z+" capabilities^{}\x00caps\n") + "0000", []string{"refs/heads/sp ace"}},
		{"later line", head + pkt(a+" refs/heads/main\x00caps\n") + pkt(a+" refs/heads/a b c\n") + "0000",
			head + pkt(a+" refs/heads/main\x00caps\n") + "0000", []string{"refs/heads/a b c"}},
		{"garbage is left alone", "zzzz" + pkt(a+" refs/heads/a b\n"), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, dropped := filterAdvertisement([]byte(tt.in))
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(out) != want || !slices.Equal(dropped, tt.dropped) {
				t.Errorf("got %q %q, want %q %q", out, dropped, want, tt.dropped)
			}
		})
	}
}

func writePktTo(b *strings.Builder, payload string) {
	fmt.Fprintf(b, "%04x%s", len(payload)+4, payload)
}

// FuzzFilterAdvertisement: the filter never panics, changes nothing when
// it drops nothing, and leaves nothing to drop in what it returns.
func FuzzFilterAdvertisement(f *testing.F) {
	const a = "1111111111111111111111111111111111111111"
	f.Add("001e# service=git-upload-pack\n0000" + fmt.Sprintf("%04x", len(a)+22) + a + " refs/heads/a b\x00caps\n0000")
	f.Add("0000")
	f.Fuzz(func(t *testing.T, in string) {
		out, dropped := filterAdvertisement([]byte(in))
		if len(dropped) == 0 && string(out) != in {
			t.Fatalf("changed %q to %q without dropping", in, out)
		}
		if again, d2 := filterAdvertisement(out); len(d2) > 0 || string(again) != string(out) {
			t.Fatalf("%q: a second pass dropped %q", out, d2)
		}
	})
}
