package schema

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decodeJob fills a Job from a validated YAML tree. It does by hand what
// yaml.v3's Node.Decode does by reflection, at a fraction of the cost, for
// the one type Load decodes in bulk; a test holds the two to the same
// result. Values of the wrong type are skipped: the schema reports them.
func decodeJob(root *yaml.Node) Job {
	var j Job
	eachPair(root, func(k string, v *yaml.Node) {
		switch k {
		case "apiVersion":
			j.APIVersion = text(v)
		case "kind":
			j.Kind = text(v)
		case "name":
			j.Name = text(v)
		case "image":
			j.Image = text(v)
		case "command":
			j.Command = text(v)
		case "workdir":
			j.Workdir = text(v)
		case "resources":
			j.Resources = decodeResources(v)
		case "env":
			j.Env = stringMap(v)
		case "secrets":
			j.Secrets = stringList(v)
		case "datasets":
			j.Datasets = decodeDatasets(v)
		case "on":
			if v.Kind == yaml.MappingNode {
				j.On = decodeTriggers(v)
			}
		case "timeout":
			if d, err := time.ParseDuration(text(v)); err == nil && v.Kind == yaml.ScalarNode {
				j.Timeout = Duration{d}
			}
		case "retries":
			j.Retries = integer(v)
		case "results":
			j.Results = decodeResults(v)
		case "concurrency":
			eachPair(v, func(k string, v *yaml.Node) {
				if k == "cancelSuperseded" {
					j.Concurrency.CancelSuperseded = boolean(v)
				}
			})
		}
	})
	return j
}

func decodeResources(n *yaml.Node) Resources {
	var r Resources
	eachPair(n, func(k string, v *yaml.Node) {
		switch k {
		case "gpu":
			r.GPU = integer(v)
		case "gpuModel":
			r.GPUModel = text(v)
		case "cpu":
			r.CPU = text(v)
		case "memory":
			r.Memory = text(v)
		case "shm":
			r.SHM = text(v)
		}
	})
	return r
}

func decodeDatasets(n *yaml.Node) []Dataset {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]Dataset, 0, len(n.Content))
	for _, e := range n.Content {
		var d Dataset
		eachPair(e, func(k string, v *yaml.Node) {
			switch k {
			case "name":
				d.Name = text(v)
			case "path":
				d.Path = text(v)
			}
		})
		out = append(out, d)
	}
	return out
}

func decodeTriggers(n *yaml.Node) *Triggers {
	t := &Triggers{}
	branches := func(v *yaml.Node) *BranchFilter {
		f := &BranchFilter{}
		eachPair(v, func(k string, v *yaml.Node) {
			if k == "branches" {
				f.Branches = stringList(v)
			}
		})
		return f
	}
	eachPair(n, func(k string, v *yaml.Node) {
		switch k {
		case "push":
			if v.Kind == yaml.MappingNode {
				t.Push = branches(v)
			}
		case "pullRequest":
			if v.Kind == yaml.MappingNode {
				t.PullRequest = branches(v)
			}
		case "paths":
			t.Paths = stringList(v)
		case "schedule":
			if v.Kind != yaml.SequenceNode {
				return
			}
			t.Schedule = make([]Schedule, 0, len(v.Content))
			for _, e := range v.Content {
				var s Schedule
				eachPair(e, func(k string, v *yaml.Node) {
					switch k {
					case "cron":
						s.Cron = text(v)
					case "timezone":
						s.Timezone = text(v)
					case "branch":
						s.Branch = text(v)
					}
				})
				t.Schedule = append(t.Schedule, s)
			}
		}
	})
	return t
}

func decodeResults(n *yaml.Node) Results {
	var r Results
	eachPair(n, func(k string, v *yaml.Node) {
		switch k {
		case "artifacts":
			r.Artifacts = stringList(v)
		case "metrics":
			if v.Kind != yaml.MappingNode {
				return
			}
			m := &Metrics{}
			eachPair(v, func(k string, v *yaml.Node) {
				switch k {
				case "file":
					m.File = text(v)
				case "patterns":
					m.Patterns = stringMap(v)
				}
			})
			r.Metrics = m
		}
	})
	return r
}

// eachPair calls f for every key and value of a mapping node, in order.
func eachPair(n *yaml.Node, f func(k string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i].Value, n.Content[i+1])
	}
}

// text is a scalar's text, as yaml.v3 decodes any scalar into a string;
// "" for null and for non-scalars.
func text(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

func integer(n *yaml.Node) int {
	if n.Kind != yaml.ScalarNode {
		return 0
	}
	switch n.ShortTag() {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
			return int(f)
		}
	}
	return 0
}

func boolean(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && strings.EqualFold(n.Value, "true")
}

func stringList(n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]string, len(n.Content))
	for i, e := range n.Content {
		out[i] = text(e)
	}
	return out
}

func stringMap(n *yaml.Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	eachPair(n, func(k string, v *yaml.Node) {
		if _, dup := out[k]; !dup { // the first, as everywhere in Load
			out[k] = text(v)
		}
	})
	return out
}
