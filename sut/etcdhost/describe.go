package etcdhost

import (
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

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

// raftpb.Message's field numbers, the same in every version of the library.
const (
	fieldType   protowire.Number = 1
	fieldReject protowire.Number = 10
)

// classifier returns a sut.SUT.Classify for lib: it reads a message's type and reject flag
// from the protobuf wire format and skips every other field undecoded. The harness classifies
// every message sent when a fault trigger watches messages, and Describe's full unmarshal
// (entries and snapshot included) was a sixth of an etcd run's CPU.
func classifier(lib Library) func(payload []byte) (sut.MessageKind, bool, bool) {
	// The library's message types are small numbers; kindOf is kinds by number.
	const maxMessageType = 64
	var kindOf [maxMessageType]sut.MessageKind
	for t := range kindOf {
		kindOf[t] = kinds[lib.MessageTypeName(int32(t))]
	}
	return func(payload []byte) (sut.MessageKind, bool, bool) {
		if len(payload) < 1 || payload[0] != sut.TagConsensus {
			return sut.KindOther, false, false
		}
		var typ, reject uint64
		for b := payload[1:]; len(b) > 0; {
			num, wire, n := protowire.ConsumeTag(b)
			if n < 0 {
				return sut.KindOther, false, false
			}
			b = b[n:]
			if (num == fieldType || num == fieldReject) && wire == protowire.VarintType {
				v, n := protowire.ConsumeVarint(b)
				if n < 0 {
					return sut.KindOther, false, false
				}
				if num == fieldType {
					typ = v
				} else {
					reject = v
				}
				b = b[n:]
				continue
			}
			n = protowire.ConsumeFieldValue(num, wire, b)
			if n < 0 {
				return sut.KindOther, false, false
			}
			b = b[n:]
		}
		if typ >= maxMessageType {
			return sut.KindOther, reject != 0, true
		}
		return kindOf[typ], reject != 0, true
	}
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
