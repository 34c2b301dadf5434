package checker

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Porcupine's published histories (its test_data: 102 etcd Jepsen register logs and six 6.824
// KV logs), converted by scripts/porcupine-histories, with the verdicts Porcupine's tests
// expect.
const publishedDir = "testdata/porcupine"

type publishedHistory struct {
	name    string
	want    Verdict
	history []Op
}

func loadPublished(tb testing.TB) []publishedHistory {
	tb.Helper()
	manifest, err := os.Open(filepath.Join(publishedDir, "expected.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer manifest.Close()
	var out []publishedHistory
	scanner := bufio.NewScanner(manifest)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, verdict, _ := strings.Cut(line, " ")
		h := publishedHistory{name: name, want: Ok}
		if verdict == "illegal" {
			h.want = Illegal
		}
		file, err := os.Open(filepath.Join(publishedDir, name+".jsonl"))
		if err != nil {
			tb.Fatal(err)
		}
		h.history, err = ReadHistory(file)
		file.Close()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, h)
	}
	if len(out) != 108 {
		tb.Fatalf("%d published histories, want 108 (102 etcd, 6 kv)", len(out))
	}
	return out
}

// TestPublishedHistories: the checker gives Porcupine's expected verdict on every published
// history, and explains every illegal one within the default budget.
func TestPublishedHistories(t *testing.T) {
	for _, h := range loadPublished(t) {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			// A generous time bound: the test is about verdicts, on a machine that may be busy.
			r := mustCheck(t, h.history, Options{Timeout: 2 * time.Minute})
			if r.Verdict != h.want {
				t.Fatalf("verdict %v, want %v: %s", r.Verdict, h.want, r.Describe())
			}
			if r.Verdict == Illegal && (len(r.Ops) == 0 || !strings.Contains(r.Describe(), "no order of these")) {
				t.Fatalf("illegal without an explanation: %s", r.Describe())
			}
		})
	}
}

// BenchmarkPublished compares, history by history in one run, the time of the checker's
// verdict (explanation off) with that of bare Porcupine (CheckOperations with the same KV model,
// partitioned per key, on the same operations, built from the same history).
func BenchmarkPublished(b *testing.B) {
	for _, h := range loadPublished(b) {
		model := KVModel()
		b.Run(h.name+"/porcupine", func(b *testing.B) {
			defer reportCPUTime(b)()
			for i := 0; i < b.N; i++ {
				if ok := porcupine.CheckOperations(model, toPorcupine(h.history)); ok != (h.want == Ok) {
					b.Fatalf("porcupine says linearizable=%v", ok)
				}
			}
		})
		b.Run(h.name+"/verdict", func(b *testing.B) {
			benchmarkCheck(b, h, Options{ExplainTimeout: -1, Timeout: time.Minute})
		})
	}
}

// BenchmarkPublishedExplained times the whole check (verdict and explanation, default budget)
// of each published history.
func BenchmarkPublishedExplained(b *testing.B) {
	for _, h := range loadPublished(b) {
		b.Run(h.name, func(b *testing.B) {
			benchmarkCheck(b, h, Options{Timeout: time.Minute})
		})
	}
}

func benchmarkCheck(b *testing.B, h publishedHistory, o Options) {
	defer reportCPUTime(b)()
	for i := 0; i < b.N; i++ {
		if r := mustCheck(b, h.history, o); r.Verdict != h.want {
			b.Fatalf("verdict %v", r.Verdict)
		}
	}
}

// reportCPUTime starts measuring the process's CPU time; the function it returns reports it
// per operation as the metric cpu-ns/op.
func reportCPUTime(b *testing.B) func() {
	start := processCPUTime()
	return func() {
		b.ReportMetric(float64(processCPUTime()-start)/float64(b.N), "cpu-ns/op")
	}
}
