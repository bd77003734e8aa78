package render

import "strings"

// literal escapes s for a field the kubelet expands (command, args, env
// values) so that the container sees s exactly. Only a "$" that the kubelet
// would act on — one followed by "$" or "(" — is doubled; the rest of s,
// and so any command without "$$" or "$(", is written unchanged.
func literal(s string) string {
	if !strings.Contains(s, "$$") && !strings.Contains(s, "$(") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '$' || s[i+1] == '(') {
			b.WriteByte('$')
		}
	}
	return b.String()
}

// Expand applies Kubernetes' variable expansion to a container's command,
// args or env value, as the kubelet does before it starts a container:
// "$$" becomes "$", "$(NAME)" becomes lookup(NAME) when that reports a
// value, and any other "$" — including an unresolved reference or an
// unclosed "$(" — stays as written. An executor that runs a rendered Pod
// without a kubelet applies it to see what the container would.
func Expand(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			ref := s[i : i+2+end+1]
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(ref)
			}
			i += len(ref) - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
