package schema

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// cpuTime is the CPU time this process has used. Benchmarks report it per
// operation next to wall time: on a shared, busy machine wall time
// measures the neighbours, CPU time measures the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds CPU time per operation and operations per CPU second.
func reportCPU(b *testing.B, start time.Duration) {
	cpu := cpuTime() - start
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "manifests/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "manifests/cpu-s")
	}
}

// BenchmarkLoad loads DESIGN §1's full example with the test cluster
// config, so that every check runs. Target: ≥ 5,000 manifests/s per core
// (go test ./schema -run '^$' -bench Load -cpu 1).
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := LoadWithConfig("mnist/job.yaml", data, cfg); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkLoadBaseline is the floor under BenchmarkLoad: yaml.v3 parsing
// the same file into a yaml.Node, and nothing else.
func BenchmarkLoadBaseline(b *testing.B) {
	data, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		var n yaml.Node
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&n); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}
