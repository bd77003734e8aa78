package schema

import (
	"bytes"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

func BenchmarkParts(b *testing.B) {
	data, _ := os.ReadFile("testdata/good/full.yaml")
	b.Run("yamlparse", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			var n yaml.Node
			yaml.NewDecoder(bytes.NewReader(data)).Decode(&n)
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	b.Run("parseDocument", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			parseDocument("x", data)
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	d, _ := parseDocument("x", data)
	b.Run("schema", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			validateSchema(d, jobSchema)
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	b.Run("decode", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			_ = decodeJob(d.root)
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	j := decodeJob(d.root)
	j.Dir = "mnist"
	b.Run("checks", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			c := jobChecker{d: d, job: &j}
			c.check()
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}
