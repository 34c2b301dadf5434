// This module builds the system under test "etcd@v3.6.0": Go builds one version of a module at
// a time, and the main module requires go.etcd.io/raft/v3 v3.7.0.
module github.com/raftsim/raftsim/sut/etcd36

go 1.26

require (
	github.com/raftsim/raftsim v0.0.0
	go.etcd.io/raft/v3 v3.7.0
)

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

replace github.com/raftsim/raftsim => ../..

// The main module's requirement of v3.7.0 would win over v3.6.0 here (minimal version
// selection takes the highest); this pins every build of this module to v3.6.0.
replace go.etcd.io/raft/v3 => go.etcd.io/raft/v3 v3.6.0
