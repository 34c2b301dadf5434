package simrun

import _ "github.com/raftsim/raftsim/raft/simhost" // registers the default SUT, as cmd/simrun does
