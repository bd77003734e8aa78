package schema

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// checkCron says what is wrong with a schedule's cron expression, or "".
// It accepts what the scheduler runs: the standard five fields or a
// descriptor (@daily, @every 1h), with the time zone kept out of it.
func checkCron(spec string) (msg string) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return "the time zone is set in cron; set it in timezone instead"
	}
	defer func() {
		// The parser is third-party code fed user input: a panic in it
		// must not take the caller down.
		if recover() != nil {
			msg = fmt.Sprintf("%s is not a valid cron expression", quoteShort(spec))
		}
	}()
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Sprintf("%s is not a valid cron expression: %v", quoteShort(spec), err)
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		return fmt.Sprintf("%s runs more often than once a minute", quoteShort(spec))
	}
	return ""
}

// zones caches time zones that loaded: time.LoadLocation reads the zone
// database from disk on every call. Only valid names are kept, so the
// cache is bounded by the database's size.
var zones sync.Map // name → *time.Location

// checkTimezone says what is wrong with an IANA time zone name, or "".
func checkTimezone(name string) string {
	if name == "Local" {
		return `"Local" is the zone of whatever machine runs the schedule`
	}
	if _, ok := zones.Load(name); ok {
		return ""
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return fmt.Sprintf("unknown time zone %s", quoteShort(name))
	}
	zones.Store(name, loc)
	return ""
}
