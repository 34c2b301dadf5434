package scenarios

import (
	"github.com/raftsim/raftsim/raft/simhost"
	"github.com/raftsim/raftsim/sut"
	_ "github.com/raftsim/raftsim/sut/etcd" // schedules of the corpora may name it
)

// raftsimSUT is raftsim's own raft, the SUT of the tests that do not name one (importing
// simhost registers it).
func raftsimSUT() *sut.SUT {
	s, err := sut.Lookup(simhost.Name)
	if err != nil {
		panic(err)
	}
	return s
}
