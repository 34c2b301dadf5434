package checker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteVisualizationIllegal(t *testing.T) {
	history := []Op{
		put(0, "visual-key", "x", 0, 10),
		get(1, "visual-key", "", 20, 30),
		put(2, "unrelated", "y", 0, 10),
	}
	r := mustCheck(t, history, Options{Timeout: testTimeout})
	if r.Verdict != Illegal {
		t.Fatalf("verdict %v", r.Verdict)
	}
	path := filepath.Join(t.TempDir(), "lin.html")
	annotations := []Annotation{
		{Start: 5, End: 25, Label: "partition {0,1} | {2}"},
		{Start: 8, End: 12, Label: "crash node 3"},    // overlaps: goes on a second row
		{Start: 26, End: 26, Label: "restart node 3"}, // point in time
	}
	if err := WriteVisualization(r, annotations, path); err != nil {
		t.Fatal(err)
	}
	html := readFile(t, path)
	for _, want := range []string{"visual-key", "partition {0,1} | {2}", "crash node 3", "faults 002", "<html"} {
		if !strings.Contains(html, want) {
			t.Errorf("visualization lacks %q", want)
		}
	}
	if strings.Contains(html, "unrelated") {
		t.Errorf("visualization of an illegal key shows other keys")
	}
	assertNoTemporaryFiles(t, filepath.Dir(path))
}

func TestWriteVisualizationOk(t *testing.T) {
	history := []Op{
		put(0, "first", "x", 0, 10),
		get(1, "second", "", 20, 30),
		pending(appendOp(2, "first", "y", 5, 0)),
	}
	r := mustCheck(t, history, Options{Timeout: testTimeout})
	if r.Verdict != Ok {
		t.Fatalf("verdict %v", r.Verdict)
	}
	path := filepath.Join(t.TempDir(), "ok.html")
	if err := WriteVisualization(r, nil, path); err != nil {
		t.Fatal(err)
	}
	html := readFile(t, path)
	for _, want := range []string{"first", "second", "pending"} {
		if !strings.Contains(html, want) {
			t.Errorf("visualization lacks %q", want)
		}
	}
	assertNoTemporaryFiles(t, filepath.Dir(path))
}

func TestWriteVisualizationErrorLeavesNothing(t *testing.T) {
	r := mustCheck(t, []Op{put(0, "k", "x", 0, 10)}, Options{Timeout: testTimeout})
	dir := t.TempDir()
	// The target is a directory: the rename fails after the temporary file was written.
	target := filepath.Join(dir, "occupied")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteVisualization(r, nil, target); err == nil {
		t.Fatal("writing over a non-empty directory succeeded")
	}
	assertNoTemporaryFiles(t, dir)
	if err := WriteVisualization(r, nil, filepath.Join(dir, "missing-dir", "x.html")); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func assertNoTemporaryFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		if strings.HasSuffix(entry.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", entry.Name())
		}
	}
}

func TestWriteVisualizationUnknown(t *testing.T) {
	var history []Op
	for i := 0; i < 40; i++ {
		history = append(history, appendOp(i, "hot", string(rune('A'+i)), 0, 1000))
	}
	history = append(history, get(40, "hot", "impossible", 0, 1000))
	r := mustCheck(t, history, Options{Timeout: 10 * time.Millisecond})
	if r.Verdict != Unknown {
		t.Fatalf("verdict %v", r.Verdict)
	}
	path := filepath.Join(t.TempDir(), "unknown.html")
	if err := WriteVisualization(r, []Annotation{{Start: 0, End: 500, Label: "pause node 1"}}, path); err != nil {
		t.Fatal(err)
	}
	if html := readFile(t, path); !strings.Contains(html, "hot") || !strings.Contains(html, "pause node 1") {
		t.Fatal("visualization lacks the key or the annotation")
	}
}

// TestPendingWriteDrawnOnItsOwnRow: a clerk that gave up on a call and went on must not have
// its later calls hidden under the pending one.
func TestPendingWriteDrawnOnItsOwnRow(t *testing.T) {
	operations := toPorcupine([]Op{
		pending(put(1, "k", "x", 0, 0)),
		get(1, "k", "x", 10, 20),
		pending(put(3, "k", "y", 5, 0)),
	})
	rows := []int{operations[0].ClientId, operations[1].ClientId, operations[2].ClientId}
	if rows[0] != 4 || rows[1] != 1 || rows[2] != 5 {
		t.Fatalf("rows %v, want pending writes after the clients' rows: [4 1 5]", rows)
	}
	if d := describeOperation(operations[0].Input, operations[0].Output); d != `put("k", "x") pending (c1)` {
		t.Fatalf("description %q", d)
	}
}
