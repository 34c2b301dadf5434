package simhost

import (
	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Describe decodes a raft payload (first byte sut.TagConsensus) for traces and timelines.
func Describe(payload []byte) (sut.Message, bool) {
	if len(payload) < 1 || payload[0] != sut.TagConsensus {
		return sut.Message{}, false
	}
	m, err := raft.Unmarshal(payload[1:])
	if err != nil {
		return sut.Message{}, false
	}
	return sut.Message{
		Type: m.Type.String(), Kind: messageKinds[m.Type],
		From: sim.NodeID(m.From), To: sim.NodeID(m.To),
		Term: m.Term, LogTerm: m.LogTerm, Index: m.Index, Commit: m.Commit,
		Entries: len(m.Entries), Reject: m.Reject, Text: m.String(),
	}, true
}

var messageKinds = map[raft.MessageType]sut.MessageKind{
	raft.MsgVote: sut.KindVote, raft.MsgPreVote: sut.KindVote,
	raft.MsgVoteResp: sut.KindVoteReply, raft.MsgPreVoteResp: sut.KindVoteReply,
	raft.MsgApp: sut.KindAppend, raft.MsgAppResp: sut.KindAppendReply,
	raft.MsgHeartbeat: sut.KindHeartbeat, raft.MsgHeartbeatResp: sut.KindHeartbeatReply,
	raft.MsgSnap:      sut.KindSnapshot,
	raft.MsgReadIndex: sut.KindReadIndex, raft.MsgReadIndexResp: sut.KindReadIndexReply,
}

// Classify reads a raft payload's type and reject flag (the first two bytes of the wire format)
// without decoding the rest.
func Classify(payload []byte) (kind sut.MessageKind, reject bool, ok bool) {
	if len(payload) < 3 || payload[0] != sut.TagConsensus {
		return sut.KindOther, false, false
	}
	t := raft.MessageType(payload[1])
	kind, ok = messageKinds[t]
	return kind, payload[2]&raft.WireFlagReject != 0, ok
}
