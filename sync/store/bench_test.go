package store

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendLog appends fixed-size chunks to one run's log.
func BenchmarkAppendLog(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", size>>10), func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			r := newRun("demo", "a/job.yaml", sha1, t0)
			mustCreate(b, s, r)
			p := make([]byte, size)
			for i := range p {
				p[i] = byte(i)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.AppendLog(ctx, r.ID, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendLogCapped appends 64 KiB chunks to a log far past its
// limit, where every append also drops the oldest tail chunk; "uncapped"
// is the floor, measured in the same run.
func BenchmarkAppendLogCapped(b *testing.B) {
	for _, limit := range []int64{0, 4 << 20} {
		name := "uncapped"
		if limit > 0 {
			name = "limit=4MiB"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			s.SetLogLimit(limit)
			r := newRun("demo", "a/job.yaml", sha1, t0)
			mustCreate(b, s, r)
			p := make([]byte, 64<<10)
			for i := range p {
				p[i] = byte(i)
			}
			for range 2 * 4 << 20 / len(p) { // past the limit before timing
				if err := s.AppendLog(ctx, r.ID, p); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.AppendLog(ctx, r.ID, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendLogParallel appends 64 KiB chunks from many goroutines,
// each to its own run, with one writer connection (writes queue in the
// pool) or several (writes contend for SQLite's lock and wait in its busy
// handler).
func BenchmarkAppendLogParallel(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			s, err := open(ctx, filepath.Join(b.TempDir(), "gitlaunch.db"), writers, true)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const nRuns = 16
			ids := make([]string, nRuns)
			for i := range ids {
				r := newRun("demo", fmt.Sprintf("j%d/job.yaml", i), sha1, t0)
				mustCreate(b, s, r)
				ids[i] = r.ID
			}
			p := make([]byte, 64<<10)
			var next atomic.Int64
			b.SetBytes(int64(len(p)))
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				id := ids[next.Add(1)%nRuns]
				for pb.Next() {
					if err := s.AppendLog(ctx, id, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReadLog reads a 64 MiB log back through OpenLog.
func BenchmarkReadLog(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(b, s, r)
	p := make([]byte, 64<<10)
	const total = 64 << 20
	for range total / len(p) {
		if err := s.AppendLog(ctx, r.ID, p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := s.OpenLog(ctx, r.ID, 0)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != total {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}

// BenchmarkSavePlannedRefs saves the planned refs of a repository with
// 5000 refs (a GitHub repository keeps one per pull request ever opened)
// after a poll that changed none (the floor: the diff's read), one (a push)
// or all of them.
func BenchmarkSavePlannedRefs(b *testing.B) {
	const n = 5000
	for _, changed := range []int{0, 1, n} {
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			refs := make(map[string]string, n)
			for i := range n {
				refs[fmt.Sprintf("refs/pull/%d/head", i+1)] = fmt.Sprintf("%040d", i)
			}
			if err := s.SavePlannedRefs(ctx, "demo", refs); err != nil {
				b.Fatal(err)
			}
			round := 0
			for b.Loop() {
				round++
				for i := range changed {
					refs[fmt.Sprintf("refs/pull/%d/head", i+1)] = fmt.Sprintf("%020d%020d", round, i)
				}
				if err := s.SavePlannedRefs(ctx, "demo", refs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
