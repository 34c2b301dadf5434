package etcdhost

import (
	"strconv"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// kinds classifies raftpb's message types, by the name every version gives them.
var kinds = map[string]sut.MessageKind{
	"MsgVote": sut.KindVote, "MsgPreVote": sut.KindVote,
	"MsgVoteResp": sut.KindVoteReply, "MsgPreVoteResp": sut.KindVoteReply,
	"MsgApp": sut.KindAppend, "MsgAppResp": sut.KindAppendReply,
	"MsgHeartbeat": sut.KindHeartbeat, "MsgHeartbeatResp": sut.KindHeartbeatReply,
	"MsgSnap":      sut.KindSnapshot,
	"MsgReadIndex": sut.KindReadIndex, "MsgReadIndexResp": sut.KindReadIndexReply,
	"MsgTimeoutNow": sut.KindTimeoutNow,
}

// DescribedMessage completes a decoded message whose Type and numeric fields a Library filled
// in with etcd ids (from, to): it converts the ids to sim node ids and sets Kind and Text.
func DescribedMessage(m sut.Message, from, to uint64) sut.Message {
	m.From, m.To = simID(from), simID(to)
	m.Kind = kinds[m.Type]
	b := append(make([]byte, 0, 96), m.Type...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.From), 10)
	b = append(b, "->"...)
	b = strconv.AppendInt(b, int64(m.To), 10)
	b = appendField(b, " t", m.Term)
	b = appendField(b, " i", m.Index)
	b = appendField(b, "/t", m.LogTerm)
	if m.Entries > 0 {
		b = appendField(b, " n", uint64(m.Entries))
	}
	b = appendField(b, " c", m.Commit)
	if m.Reject {
		b = append(b, " reject"...)
	}
	m.Text = string(b)
	return m
}

func appendField(b []byte, name string, v uint64) []byte {
	return strconv.AppendUint(append(b, name...), v, 10)
}

// SimID is the sim node id of an etcd id.
func SimID(id uint64) sim.NodeID { return simID(id) }
