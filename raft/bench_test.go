package raft

import (
	"testing"
)

// benchCluster is a minimal host for benchmarks: 5 nodes, a FIFO network, no disks, the
// service is a counter. It measures raft itself (and optionally the codec), not the harness.
type benchCluster struct {
	nodes     []*Node
	queue     []Message
	head      int
	delivered int
	encode    bool
	buf       []byte
	applied   []uint64
}

func newBenchCluster(b *testing.B, size int, encode bool) *benchCluster {
	bc := &benchCluster{encode: encode, applied: make([]uint64, size+1)}
	for id := 1; id <= size; id++ {
		cfg := testConfig(id, size)
		cfg.PreVote, cfg.CheckQuorum = true, true
		bc.nodes = append(bc.nodes, New(cfg, Persisted{}))
	}
	bc.nodes[0].campaign()
	bc.drain()
	if bc.nodes[0].role != Leader {
		b.Fatalf("node 1 not elected")
	}
	return bc
}

func (bc *benchCluster) process(n *Node) {
	for n.HasReady() {
		rd := n.Ready()
		bc.queue = append(bc.queue, rd.Messages...)
		for i := range rd.CommittedEntries {
			bc.applied[n.id] = rd.CommittedEntries[i].Index
		}
		n.Advance()
		// Keep memory flat: the service snapshots every 1024 entries.
		if a := bc.applied[n.id]; a >= n.log.snapshot.Index+1024 {
			n.Compact(a, nil)
		}
	}
}

func (bc *benchCluster) drain() {
	for _, n := range bc.nodes {
		bc.process(n)
	}
	for bc.head < len(bc.queue) {
		m := bc.queue[bc.head]
		bc.queue[bc.head] = Message{}
		bc.head++
		if bc.encode {
			bc.buf = m.MarshalTo(bc.buf[:0])
			var err error
			if m, err = Unmarshal(bc.buf); err != nil {
				panic(err)
			}
		}
		n := bc.nodes[m.To-1]
		n.Step(m)
		bc.delivered++
		bc.process(n)
	}
	bc.queue, bc.head = bc.queue[:0], 0
}

func benchmarkReplication(b *testing.B, encode bool, batch int) {
	bc := newBenchCluster(b, 5, encode)
	leader := bc.nodes[0]
	data := []byte("0123456789abcdef0123456789abcdef") // 32-byte command
	bc.delivered = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := leader.Propose(data); !ok {
			b.Fatalf("proposal refused")
		}
		if (i+1)%batch == 0 {
			bc.process(leader)
			bc.drain()
		}
		if i%64 == 0 {
			for _, n := range bc.nodes {
				n.Tick()
			}
		}
	}
	bc.drain()
	b.StopTimer()
	if leader.role != Leader || leader.commit < uint64(b.N) {
		b.Fatalf("leader %v committed %d of %d", leader.role, leader.commit, b.N)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(bc.delivered)/secs, "msgs/s")
	b.ReportMetric(float64(b.N)/secs, "entries/s")
	b.ReportMetric(float64(bc.delivered)/float64(b.N), "msgs/entry")
}

// BenchmarkReplication: 5 nodes in memory, steady proposals at the leader, each delivered
// to every follower and acknowledged before the next (batch 1), or 16 at a time.
func BenchmarkReplication(b *testing.B) {
	b.Run("batch1", func(b *testing.B) { benchmarkReplication(b, false, 1) })
	b.Run("batch16", func(b *testing.B) { benchmarkReplication(b, false, 16) })
	b.Run("batch1-codec", func(b *testing.B) { benchmarkReplication(b, true, 1) })
}
