package sut

import (
	"fmt"
	"slices"
	"testing"
)

// recorder is an Observer that writes down every call.
type recorder struct{ calls []string }

func (r *recorder) note(format string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}
func (r *recorder) SetNow(ns int64)    { r.note("now %d", ns) }
func (r *recorder) Restarted(node int) { r.note("restarted %d", node) }
func (r *recorder) LogTruncated(node int, from uint64) {
	r.note("truncated %d %d", node, from)
}
func (r *recorder) LogAppended(node int, index, term, digest uint64) {
	r.note("appended %d %d %d %d", node, index, term, digest)
}
func (r *recorder) SnapshotInstalled(node int, index, term uint64) {
	r.note("snapshot %d %d %d", node, index, term)
}
func (r *recorder) BecameLeader(node int, term uint64)  { r.note("leader %d %d", node, term) }
func (r *recorder) PersistedTerm(node int, term uint64) { r.note("term %d %d", node, term) }
func (r *recorder) Committed(node int, index uint64)    { r.note("committed %d %d", node, index) }
func (r *recorder) Applied(node int, index, term, digest uint64) {
	r.note("applied %d %d %d %d", node, index, term, digest)
}
func (r *recorder) RoleChanged(node int, role Role, term uint64) {
	r.note("role %d %v %d", node, role, term)
}

func TestTeeReportsEveryCallToEveryObserverInOrder(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	o := Tee(a, nil, b)
	o.SetNow(5)
	o.Restarted(1)
	o.LogTruncated(1, 3)
	o.LogAppended(1, 3, 2, 99)
	o.SnapshotInstalled(2, 10, 1)
	o.BecameLeader(0, 2)
	o.PersistedTerm(0, 2)
	o.Committed(0, 3)
	o.Applied(0, 3, 2, 99)
	o.RoleChanged(0, Leader, 2)
	want := []string{"now 5", "restarted 1", "truncated 1 3", "appended 1 3 2 99", "snapshot 2 10 1",
		"leader 0 2", "term 0 2", "committed 0 3", "applied 0 3 2 99", "role 0 leader 2"}
	if !slices.Equal(a.calls, want) || !slices.Equal(b.calls, want) {
		t.Fatalf("observers heard\n%q\n%q\nwant\n%q", a.calls, b.calls, want)
	}
	if Tee(nil, a) != Observer(a) {
		t.Fatal("a tee of one observer should be that observer")
	}
}
