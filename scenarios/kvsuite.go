package scenarios

// The MIT 6.5840 KV (kvraft, lab 4) tests as workload scenarios. Most are instances of the
// lab's GenericTest: three iterations in which clients append to and read keys for 5 s while a
// partitioner (optionally) splits the servers into two random groups every 1-1.2 s, after which
// the network heals and (optionally) every server crashes and restarts from its disk one
// election timeout later. Every scenario also gets the linearizability check (the lab adds it
// only to some), and servers snapshot when maxraftstate is set.

// genericKV are the parameters of the lab's GenericTest.
type genericKV struct {
	clients      int
	unreliable   bool
	crash        bool
	partitions   bool
	maxRaftState int // -1: no snapshots
	randomKeys   bool
}

const (
	labElectionTimeoutMs = 1000 // the lab's electionTimeout, used as a settling pause
	labClientPhaseMs     = 5000 // clients run this long in each iteration
	labIterations        = 3
)

func (g genericKV) schedule(name string, seed uint64) *Schedule {
	s := baseSchedule(name, seed)
	s.MaxRaftStateBytes = g.maxRaftState
	s.Workload = Workload{
		Clients: g.clients, Keys: g.clients, OpsPerClient: 100000,
		Get: 1, Append: 1, ThinkMinMs: 0, ThinkMaxMs: 1, ReadMode: ReadModeReadIndex,
	}
	if g.randomKeys {
		// Clients pick among nclients keys and also Put (1 in 10 of the non-appends).
		s.Workload.Get, s.Workload.Append, s.Workload.Put = 9, 10, 1
	}
	if g.unreliable {
		// The lab's unreliable network drops a tenth of requests and replies and delays
		// the rest by up to 27 ms.
		s.Network = NetworkSpec{LatencyMinMs: 0, LatencyMaxMs: 27, Drop: 0.1}
	}
	partitions := newFaultGen(s, name+"/partitioner")
	t := int64(0)
	for it := 0; it < labIterations; it++ {
		phaseEnd := t + labClientPhaseMs
		if g.partitions {
			phaseEnd += 1000
			for at := t + 1000; at < phaseEnd; at += labElectionTimeoutMs + partitions.betweenMs(0, 199) {
				var a, b []int
				for node := 0; node < s.Nodes; node++ {
					if partitions.rnd.Intn(2) == 0 {
						a = append(a, node)
					} else {
						b = append(b, node)
					}
				}
				// Each partition replaces the last one, as the lab's partition() does.
				s.Faults = append(s.Faults, Fault{AtMs: at, Kind: FaultHeal})
				if len(a) > 0 && len(b) > 0 {
					s.Faults = append(s.Faults, Fault{AtMs: at, Kind: FaultPartition, Groups: [][]int{a, b}})
				}
			}
			s.Faults = append(s.Faults, Fault{AtMs: phaseEnd, Kind: FaultHeal})
			phaseEnd += labElectionTimeoutMs
		}
		if g.crash {
			s.Faults = append(s.Faults, Fault{AtMs: phaseEnd, Kind: FaultCrash, Nodes: allNodes(s.Nodes)})
			phaseEnd += labElectionTimeoutMs
			s.Faults = append(s.Faults, Fault{AtMs: phaseEnd, Kind: FaultRestart, Nodes: allNodes(s.Nodes)})
		}
		t = phaseEnd
	}
	s.DurationMs = t + 1
	sortFaults(s.Faults)
	return s
}

func registerGenericKV(test, description string, g genericKV) {
	name := "kv/" + test
	register(&Scenario{Name: name, Description: description, Schedule: func(seed uint64) *Schedule {
		return g.schedule(name, seed)
	}})
}

func init() {
	registerGenericKV("Basic", "lab 4A: one client, reliable network, no faults", genericKV{clients: 1, maxRaftState: -1})
	registerGenericKV("Concurrent", "lab 4A: 5 clients, reliable network", genericKV{clients: 5, maxRaftState: -1})
	registerGenericKV("Unreliable", "lab 4A: 5 clients, unreliable network", genericKV{clients: 5, unreliable: true, maxRaftState: -1})
	register(&Scenario{Name: "kv/UnreliableOneKey", Description: "lab 4A: 5 clients append to one key over an unreliable network",
		Schedule: func(seed uint64) *Schedule {
			s := genericKV{clients: 5, unreliable: true, maxRaftState: -1}.schedule("kv/UnreliableOneKey", seed)
			s.Workload.Keys, s.Workload.OpsPerClient = 1, 10 // the lab: 10 appends per client, then one Get
			return s
		}})
	register(&Scenario{Name: "kv/OnePartition", Description: "lab 4A: majority and minority partition; the minority must not complete, then heal",
		Schedule: onePartition})
	registerGenericKV("ManyPartitionsOneClient", "lab 4A: 1 client, random partitions", genericKV{clients: 1, partitions: true, maxRaftState: -1})
	registerGenericKV("ManyPartitionsManyClients", "lab 4A: 5 clients, random partitions", genericKV{clients: 5, partitions: true, maxRaftState: -1})
	registerGenericKV("PersistOneClient", "lab 4A: 1 client, all servers crash and restart", genericKV{clients: 1, crash: true, maxRaftState: -1})
	registerGenericKV("PersistConcurrent", "lab 4A: 5 clients, crashes", genericKV{clients: 5, crash: true, maxRaftState: -1})
	registerGenericKV("PersistConcurrentUnreliable", "lab 4A: 5 clients, crashes, unreliable network", genericKV{clients: 5, unreliable: true, crash: true, maxRaftState: -1})
	registerGenericKV("PersistPartition", "lab 4A: 5 clients, crashes, partitions", genericKV{clients: 5, crash: true, partitions: true, maxRaftState: -1})
	registerGenericKV("PersistPartitionUnreliable", "lab 4A: 5 clients, crashes, partitions, unreliable", genericKV{clients: 5, unreliable: true, crash: true, partitions: true, maxRaftState: -1})
	registerGenericKV("PersistPartitionUnreliableLinearizable", "lab 4A: 15 clients, random keys, crashes, partitions, unreliable",
		genericKV{clients: 15, unreliable: true, crash: true, partitions: true, maxRaftState: -1, randomKeys: true})
	register(&Scenario{Name: "kv/SnapshotRPC", Description: "lab 4B: 3 servers snapshot at 1000 bytes; a partitioned server must catch up by InstallSnapshot",
		Schedule: snapshotRPC})
	register(&Scenario{Name: "kv/SnapshotSize", Description: "lab 4B: 3 servers, 1 client, maxraftstate 1000: raft state stays within 8x the limit",
		Schedule: func(seed uint64) *Schedule {
			s := genericKV{clients: 1, maxRaftState: 1000}.schedule("kv/SnapshotSize", seed)
			s.Nodes, s.Faults, s.DurationMs = 3, nil, 5000
			s.Workload.Get, s.Workload.Append, s.Workload.Put, s.Workload.OpsPerClient = 1, 0, 1, 200
			return s
		}})
	registerGenericKV("SnapshotRecover", "lab 4B: 1 client, crashes, maxraftstate 1000", genericKV{clients: 1, crash: true, maxRaftState: 1000})
	registerGenericKV("SnapshotRecoverManyClients", "lab 4B: 20 clients, crashes, maxraftstate 1000", genericKV{clients: 20, crash: true, maxRaftState: 1000})
	registerGenericKV("SnapshotUnreliable", "lab 4B: 5 clients, unreliable, maxraftstate 1000", genericKV{clients: 5, unreliable: true, maxRaftState: 1000})
	registerGenericKV("SnapshotUnreliableRecover", "lab 4B: 5 clients, unreliable, crashes, maxraftstate 1000", genericKV{clients: 5, unreliable: true, crash: true, maxRaftState: 1000})
	registerGenericKV("SnapshotUnreliableRecoverConcurrentPartition", "lab 4B: 5 clients, unreliable, crashes, partitions, maxraftstate 1000",
		genericKV{clients: 5, unreliable: true, crash: true, partitions: true, maxRaftState: 1000})
	registerGenericKV("SnapshotUnreliableRecoverConcurrentPartitionLinearizable", "lab 4B: 15 clients, random keys, unreliable, crashes, partitions, maxraftstate 1000",
		genericKV{clients: 15, unreliable: true, crash: true, partitions: true, maxRaftState: 1000, randomKeys: true})
}

// onePartition is the lab's TestOnePartition: a 3|2 split in which the majority keeps working
// and the minority's calls must not complete until the partition heals.
func onePartition(seed uint64) *Schedule {
	s := genericKV{clients: 5, maxRaftState: -1}.schedule("kv/OnePartition", seed)
	g := newFaultGen(s, "kv/OnePartition")
	p := g.shuffledNodes()
	s.Faults = []Fault{
		{AtMs: 1000, Kind: FaultPartition, Groups: [][]int{sorted(p[:3]), sorted(p[3:])}},
		{AtMs: 1000 + 2*labElectionTimeoutMs, Kind: FaultHeal},
	}
	s.DurationMs = 6000
	return s
}

// snapshotRPC is the lab's TestSnapshotRPC: servers 0,1 work without 2 long enough to snapshot,
// then 0,2 must work without 1, which forces an InstallSnapshot to 2.
func snapshotRPC(seed uint64) *Schedule {
	s := genericKV{clients: 1, maxRaftState: 1000}.schedule("kv/SnapshotRPC", seed)
	s.Nodes = 3
	s.Workload.Get, s.Workload.Put, s.Workload.Append = 1, 2, 0
	s.Workload.Keys = 50
	s.Faults = []Fault{
		{AtMs: 500, Kind: FaultPartition, Groups: [][]int{{0, 1}, {2}}},
		{AtMs: 3000, Kind: FaultPartition, Groups: [][]int{{0, 2}, {1}}},
		{AtMs: 5000, Kind: FaultHeal},
	}
	s.DurationMs = 7000
	return s
}
