package sut

// Tee returns an Observer that reports to each of observers in turn (nil ones are left out),
// so that the safety monitor and other listeners (timeline recorders, fault triggers) hear the
// same stream.
func Tee(observers ...Observer) Observer {
	var t tee
	for _, o := range observers {
		if o != nil {
			t = append(t, o)
		}
	}
	if len(t) == 1 {
		return t[0]
	}
	return t
}

type tee []Observer

func (t tee) SetNow(ns int64) {
	for _, o := range t {
		o.SetNow(ns)
	}
}

func (t tee) Restarted(node int) {
	for _, o := range t {
		o.Restarted(node)
	}
}

func (t tee) LogTruncated(node int, fromIndex uint64) {
	for _, o := range t {
		o.LogTruncated(node, fromIndex)
	}
}

func (t tee) LogAppended(node int, index, term, digest uint64) {
	for _, o := range t {
		o.LogAppended(node, index, term, digest)
	}
}

func (t tee) SnapshotInstalled(node int, index, term uint64) {
	for _, o := range t {
		o.SnapshotInstalled(node, index, term)
	}
}

func (t tee) BecameLeader(node int, term uint64) {
	for _, o := range t {
		o.BecameLeader(node, term)
	}
}

func (t tee) PersistedTerm(node int, term uint64) {
	for _, o := range t {
		o.PersistedTerm(node, term)
	}
}

func (t tee) Committed(node int, commitIndex uint64) {
	for _, o := range t {
		o.Committed(node, commitIndex)
	}
}

func (t tee) Applied(node int, index, term, digest uint64) {
	for _, o := range t {
		o.Applied(node, index, term, digest)
	}
}

func (t tee) RoleChanged(node int, role Role, term uint64) {
	for _, o := range t {
		o.RoleChanged(node, role, term)
	}
}
