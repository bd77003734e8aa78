package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/url"
	"strings"
)

// Forms lists what New hides for one secret value, its surrounding space
// trimmed:
//   - the value itself;
//   - its base64, in the standard and the URL alphabet, padded and not;
//   - the part of its base64 that does not depend on the bytes around it
//     when it is encoded inside longer data (`echo $TOKEN | base64`, a
//     Basic auth header, a JSON document), at each of the three byte
//     alignments, in both alphabets;
//   - its URL encodings (query and path escaping, %XX in upper and lower
//     case);
//   - its hex, in lower and upper case;
//   - its JSON string escaping (with and without HTML escaping) and its
//     HTML escaping.
//
// Forms shorter than MinLen are left out; a value shorter than MinLen has
// none.
func Forms(v string) []string {
	v = strings.TrimSpace(v)
	if len(v) < MinLen {
		return nil
	}
	var out []string
	add := func(f string) {
		if len(f) >= MinLen {
			out = append(out, f)
		}
	}
	add(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		add(enc.EncodeToString([]byte(v)))
		add(enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		for k := range 3 {
			add(base64Core(enc, v, k))
		}
	}
	for _, esc := range []string{url.QueryEscape(v), url.PathEscape(v)} {
		add(esc)
		add(lowerPercent(esc))
	}
	add(hex.EncodeToString([]byte(v)))
	add(strings.ToUpper(hex.EncodeToString([]byte(v))))
	add(jsonString(v, true))
	add(jsonString(v, false))
	add(html.EscapeString(v))
	return out
}

// base64Core is the part of the base64 of v, preceded by k other bytes,
// made of characters that depend on v's bits only: each character carries
// 6 bits, so the first ones share bits with the k bytes before v and the
// last one with the bytes after it.
func base64Core(enc *base64.Encoding, v string, k int) string {
	s := enc.EncodeToString(append(make([]byte, k), v...))
	start := (8*k + 5) / 6      // first character with no bit of the k bytes
	end := 8 * (k + len(v)) / 6 // characters made of v's bits only end here
	return s[start:end]
}

// lowerPercent writes the %XX escapes of s in lower case.
func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// jsonString is v as it appears between the quotes of a JSON string.
func jsonString(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
}
