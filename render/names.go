package render

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

const maxLabel = validation.DNS1123LabelMaxLength // 63, also the label value limit

// runIDLen is the length of sync.RunID's IDs; a run ID of exactly this many
// [a-z0-9] characters appears verbatim in Pod names.
const runIDLen = 20

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// PodName is the name of the first Pod of a run: "<job>-<run id>", a
// DNS-1123 label of at most 63 characters for any input. The job name is
// lowercased, characters outside [a-z0-9-] become "-", and it is cut to
// fit. A run ID of 20 lowercase alphanumerics (sync.RunID's form) is kept
// as it is; any other is replaced by 20 characters of its hash. The run ID
// part always has 20 characters, so two different run IDs never share a
// name.
func PodName(jobName, runID string) string {
	return AttemptPodName(jobName, runID, 1)
}

// AttemptPodName is PodName for a retry: attempt > 1 adds "-<attempt>"
// (still at most 63 characters). Attempts below 2 name the first Pod.
func AttemptPodName(jobName, runID string, attempt int) string {
	suffix := "-" + runIDPart(runID)
	if attempt > 1 {
		// At most 19 digits, never 20: an attempt suffix cannot be
		// mistaken for a run ID.
		suffix += "-" + strconv.Itoa(attempt)
	}
	prefix := dnsChars(jobName)
	if n := maxLabel - len(suffix); len(prefix) > n {
		prefix = strings.TrimRight(prefix[:n], "-")
	}
	if prefix == "" {
		prefix = "job"
	}
	return prefix + suffix
}

func runIDPart(runID string) string {
	if len(runID) == runIDLen && isLowerAlnum(runID) {
		return runID
	}
	sum := sha256.Sum256([]byte(runID))
	return lowerBase32.EncodeToString(sum[:])[:runIDLen]
}

func isLowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// dnsChars lowercases s, turns each run of characters outside [a-z0-9] into
// one "-" and trims "-" from both ends.
func dnsChars(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
			continue
		}
		dash = true
	}
	return b.String()
}

// shortHash is 10 hex characters of s's SHA-256: enough that sanitized
// names of different inputs do not meet by accident.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:5])
}

// LabelValue makes s a valid Kubernetes label value. A valid value (at most
// 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric, or
// empty) is returned unchanged. Any other has each run of other characters
// replaced by "-", is trimmed and cut to fit, and gets "-" and a short hash
// of the original appended, so two different inputs do not share a value
// and a selector for a value can always be computed again from the input.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' {
			if dash {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
			continue
		}
		dash = true
	}
	return withHash(b.String(), s, maxLabel, "-_.")
}

// withHash returns clean (trimmed of cutset at both ends) cut to fit, then
// "-" and shortHash(orig), within max bytes. clean must be ASCII.
func withHash(clean, orig string, max int, cutset string) string {
	h := shortHash(orig)
	clean = strings.Trim(clean, cutset)
	if n := max - 1 - len(h); len(clean) > n {
		clean = strings.TrimRight(clean[:n], cutset)
	}
	if clean == "" {
		return h
	}
	return clean + "-" + h
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// dnsLabel makes prefix+name a DNS-1123 label: unchanged when it is one,
// otherwise sanitized with a hash of name appended. prefix must itself be
// lowercase alphanumerics and "-".
func dnsLabel(prefix, name string) string {
	s := prefix + name
	if len(validation.IsDNS1123Label(s)) == 0 {
		return s
	}
	return prefix + withHash(dnsChars(name), name, maxLabel-len(prefix), "-")
}

// maxMountName bounds the /mnt/<repo> path element in bytes, well under
// the 255 of most file systems even after the hash suffix.
const maxMountName = 100

// MountName is the single path element under /mnt where the repository
// appears. Letters and digits of any script, "-", "_" and "." are kept;
// every other character (path separators, whitespace, control characters,
// shell punctuation) becomes "_", so the path is safe to use unquoted in a
// shell. "", "." and ".." become "repo"; a name over 100 bytes is cut and
// gets a short hash of the original.
func MountName(repo string) string {
	var b strings.Builder
	for _, r := range repo {
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > maxMountName {
		h := shortHash(repo)
		cut := maxMountName - 1 - len(h)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "-" + h
	}
	if s == "" || s == "." || s == ".." {
		return "repo"
	}
	return s
}
