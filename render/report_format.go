package render

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// commentFuncs are the helpers comment templates may call. Every value that
// comes from a repository or a run passes through one of them, so that a
// job name, a reason or a log line cannot break the table or inject HTML.
var commentFuncs = template.FuncMap{
	"cell":   Cell,
	"code":   InlineCode,
	"fence":  Fence,
	"html":   html.EscapeString,
	"emoji":  StateEmoji,
	"dur":    FormatDuration,
	"gpu":    FormatGPU,
	"metric": FormatMetric,
	"size":   HumanSize,
}

// flattenLine turns line breaks and tabs into spaces and drops other control
// characters.
func flattenLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// Cell makes s safe inside one Markdown table cell: one line, pipes
// escaped, HTML neutralized, control characters dropped.
func Cell(s string) string {
	s = flattenLine(s)
	s = html.EscapeString(s)
	return strings.ReplaceAll(s, "|", `\|`)
}

// InlineCode wraps s in a backtick code span long enough that backticks in
// s cannot end it early.
func InlineCode(s string) string {
	s = flattenLine(s)
	if s == "" {
		return "` `"
	}
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// Fence puts text in a fenced code block whose fence is longer than any
// run of backticks in it, after dropping terminal control sequences.
func Fence(text string) string {
	text = StripControl(text)
	ticks := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return ticks + "text\n" + strings.TrimSuffix(text, "\n") + "\n" + ticks
}

// StripControl removes ANSI escape sequences and control characters other
// than newlines and tabs (progress bars' carriage returns included).
func StripControl(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b { // ESC [ ... final byte
			if i+1 < len(s) && s[i+1] == '[' {
				j := i + 2
				for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
					j++
				}
				i = j
			}
			continue
		}
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			continue
		}
		b.WriteByte(c)
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// StateEmoji is the symbol shown next to a run state.
func StateEmoji(state string) string {
	switch state {
	case "succeeded":
		return "✅"
	case "failed":
		return "❌"
	case "timed_out":
		return "⏱️"
	case "cancelled":
		return "🚫"
	case "invalid":
		return "⚠️"
	case "error":
		return "💥"
	case "running":
		return "🏃"
	case "waiting":
		return "⏸️"
	case "queued", "pending":
		return "⏳"
	}
	return "❔"
}

// FormatDuration is a run's duration for people: "3m12s", "450ms", "–".
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// FormatGPU is "–" for CPU jobs, "1" or "2 × a100" otherwise.
func FormatGPU(n int, model string) string {
	switch {
	case n <= 0:
		return "–"
	case model == "":
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d × %s", n, Cell(model))
}

// FormatNumber prints a metric value with up to 6 significant digits.
func FormatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// FormatMetric is "name 0.98" or, with a baseline, "name 0.98 (+0.012,
// +1.2%)"; "±0" when unchanged.
func FormatMetric(m Metric) string {
	s := Cell(m.Name) + " **" + FormatNumber(m.Value) + "**"
	if !m.HasBase {
		return s
	}
	return s + " (" + Change(m.Value, m.Base) + ")"
}

// Change describes v against base: "+0.012, +1.2%", "−3", "±0".
func Change(v, base float64) string {
	d := v - base
	if d == 0 {
		return "±0"
	}
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	s := sign + strconv.FormatFloat(math.Abs(d), 'g', 4, 64)
	if base != 0 && !math.IsInf(d/base, 0) && !math.IsNaN(d/base) {
		s += fmt.Sprintf(", %s%s%%", sign, strconv.FormatFloat(math.Abs(d/base*100), 'f', 1, 64))
	}
	return s
}

// HumanSize prints a byte count with a binary unit: "512 B", "1.5 MiB".
func HumanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
