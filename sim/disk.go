package sim

import (
	"sort"
	"strconv"
)

// Disk is one node's storage: named files whose contents are volatile until Sync. A crash
// reverts every file to its contents at the last Sync (a file never synced disappears).
//
// A Disk obtained from Env is valid for that incarnation only: after a crash it ignores writes
// and reads nil. Sim.NodeDisk returns a kernel handle that is always valid.
type Disk struct {
	sim         *Sim
	node        *nodeState
	incarnation uint32
	kernel      bool
}

type diskFile struct {
	durable       []byte // contents at the last Sync; capacity clipped so appends never share it
	durableExists bool
	current       []byte // contents as the node sees them
	dirty         bool   // current differs from durable (listed in diskStore.dirty)
}

type diskStore struct {
	files map[string]*diskFile // looked up by name; listing goes through names
	names []string             // sorted names of the files that currently exist
	dirty []*diskFile          // files written since the last Sync, in first-write order
	// dirtyNames parallels dirty, for removing never-synced files at a crash.
	dirtyNames []string
}

func (d *diskStore) init() { d.files = make(map[string]*diskFile) }

func (d *Disk) usable() bool {
	return d.kernel || (d.node.up && d.node.incarnation == d.incarnation)
}

// Read returns the current contents of file, including unsynced writes, or nil if it does not
// exist. The caller must not modify the result; it stays valid after later writes.
func (d *Disk) Read(file string) []byte {
	if !d.usable() {
		return nil
	}
	f := d.node.disk.files[file]
	if f == nil {
		return nil
	}
	return f.current
}

// Write replaces the contents of file (the kernel keeps its own copy of data).
func (d *Disk) Write(file string, data []byte) {
	if !d.usable() {
		return
	}
	f := d.node.disk.open(file)
	f.current = append(make([]byte, 0, len(data)), data...)
	d.sim.stats.DiskBytesWritten += int64(len(data))
	d.trace("write", file, len(data), "replaced")
}

// Append adds data at the end of file, creating it if needed.
func (d *Disk) Append(file string, data []byte) {
	if !d.usable() {
		return
	}
	f := d.node.disk.open(file)
	if f.current == nil {
		f.current = make([]byte, 0, len(data))
	}
	// Appending past len never changes bytes a reader already holds, since readers only see
	// up to the length they were given, and durable has its capacity clipped.
	f.current = append(f.current, data...)
	d.sim.stats.DiskBytesWritten += int64(len(data))
	d.trace("write", file, len(data), "appended")
}

// trace notes a disk operation in the trace (not in the hash: the operations a node performs
// follow from the events already folded).
func (d *Disk) trace(kind, file string, n int, how string) {
	s := d.sim
	if s.cfg.Trace == nil {
		return
	}
	detail := strconv.Itoa(n) + " files made durable"
	if kind == "write" {
		detail = file + ": " + strconv.Itoa(n) + " bytes " + how
	}
	s.cfg.Trace(TraceEvent{Seq: s.stats.Events, At: s.now, Node: d.node.id, Kind: kind, Detail: detail, Bytes: n, File: file})
}

// Sync makes everything written so far durable.
func (d *Disk) Sync() {
	if !d.usable() {
		return
	}
	store := &d.node.disk
	d.trace("sync", "", len(store.dirty), "")
	for _, f := range store.dirty {
		f.durable = f.current[:len(f.current):len(f.current)]
		f.durableExists = true
		f.dirty = false
	}
	clear(store.dirty)
	store.dirty = store.dirty[:0]
	clear(store.dirtyNames)
	store.dirtyNames = store.dirtyNames[:0]
	d.sim.stats.DiskSyncs++
}

// Files returns the names of the existing files, sorted.
func (d *Disk) Files() []string {
	if !d.usable() {
		return nil
	}
	return append([]string(nil), d.node.disk.names...)
}

// Size returns the current length of file (0 if it does not exist).
func (d *Disk) Size(file string) int { return len(d.Read(file)) }

// open returns file, creating it (volatile until Sync), and marks it dirty.
func (store *diskStore) open(name string) *diskFile {
	f := store.files[name]
	if f == nil {
		f = &diskFile{}
		store.files[name] = f
		i := sort.SearchStrings(store.names, name)
		store.names = append(store.names, "")
		copy(store.names[i+1:], store.names[i:])
		store.names[i] = name
	}
	if !f.dirty {
		f.dirty = true
		store.dirty = append(store.dirty, f)
		store.dirtyNames = append(store.dirtyNames, name)
	}
	return f
}

// crash reverts every dirty file to its durable contents and returns how many it reverted.
func (store *diskStore) crash() int {
	reverted := len(store.dirty)
	for i, f := range store.dirty {
		f.dirty = false
		if f.durableExists {
			f.current = f.durable
			continue
		}
		name := store.dirtyNames[i]
		delete(store.files, name)
		j := sort.SearchStrings(store.names, name)
		if j >= len(store.names) || store.names[j] != name {
			panic("sim: disk file missing from the sorted name list: " + name)
		}
		store.names = append(store.names[:j], store.names[j+1:]...)
	}
	clear(store.dirty)
	store.dirty = store.dirty[:0]
	clear(store.dirtyNames)
	store.dirtyNames = store.dirtyNames[:0]
	return reverted
}
