package checker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/raftsim/raftsim/internal/suggest"
)

// The history format is JSON Lines: one operation per line, a JSON object with these fields
// (docs/checker.md describes it for users):
//
//	{"client": 3, "op": "cas", "key": "k", "value": "new", "expected": "old", "ok": true, "call": 120, "return": 180}
//
//   - client: the client's id, an integer >= 0.
//   - op: "get", "put", "append" or "cas".
//   - key: the key, a string.
//   - value: the value written by put, append and cas.
//   - expected: the value cas compares the key's value with.
//   - output: what a completed get returned; null is the same as "" (a key never written).
//   - ok: whether a completed cas swapped.
//   - call, return: integers that order events, in any unit; "return": null when the client
//     never learned the outcome (the operation may or may not have taken effect).
//
// Every field a kind uses is required; the others must be absent or null ("ok": true is also
// accepted on put, append and get).

// Limits of ReadHistory, so that a hostile or mistaken file cannot exhaust memory.
const (
	historyLineMaxBytes = 64 << 20
	historyOpsMax       = 10_000_000
)

// historyFields are the JSON field names of an operation, in the order they are written.
var historyFields = []string{"client", "op", "key", "value", "expected", "output", "ok", "call", "return"}

// InputError says which operation of a history is malformed, which field, and what is valid.
type InputError struct {
	Line  int    // 1-based line of a history file; 0 when the history was given as a slice
	Index int    // index of the operation in the slice (when Line is 0)
	Field string // the JSON field at fault ("op", "return", ...); "" for the whole line
	Msg   string
}

func (e *InputError) Error() string {
	where := fmt.Sprintf("history[%d]", e.Index)
	if e.Line > 0 {
		where = fmt.Sprintf("line %d", e.Line)
	}
	if e.Field == "" {
		return where + ": " + e.Msg
	}
	return fmt.Sprintf("%s: field %q: %s", where, e.Field, e.Msg)
}

// Validate reports what makes op unusable by the checker: a kind that is not one of the four,
// a negative client id, or a completed operation that returns before its call. The error is an
// *InputError naming the field.
func (op Op) Validate() error {
	switch {
	case !op.Kind.Valid():
		return &InputError{Field: "op", Msg: fmt.Sprintf("%v is not an operation kind: want one of %s", op.Kind, strings.Join(opKindNames[OpGet:], ", "))}
	case op.Client < 0:
		return &InputError{Field: "client", Msg: fmt.Sprintf("negative client id %d: want an integer >= 0", op.Client)}
	case !op.Pending && op.Return < op.Call:
		return &InputError{Field: "return", Msg: fmt.Sprintf("returns at %d, before its call at %d (use null for an operation whose outcome the client never learned)", op.Return, op.Call)}
	}
	return nil
}

// opJSON is the JSON form of an Op: pointers are the fields a kind may leave out.
type opJSON struct {
	Client   int     `json:"client"`
	Kind     OpKind  `json:"op"`
	Key      string  `json:"key"`
	Value    *string `json:"value,omitempty"`
	Expected *string `json:"expected,omitempty"`
	Output   *string `json:"output,omitempty"`
	OK       *bool   `json:"ok,omitempty"`
	Call     int64   `json:"call"`
	Return   *int64  `json:"return"`
}

// MarshalJSON writes op in the history format: only the fields its kind uses, and
// "return": null when it is Pending.
func (op Op) MarshalJSON() ([]byte, error) {
	if err := op.Validate(); err != nil {
		return nil, fmt.Errorf("checker: cannot encode operation: %w", err)
	}
	j := opJSON{Client: op.Client, Kind: op.Kind, Key: op.Key, Call: op.Call}
	if op.Kind != OpGet {
		j.Value = &op.Value
	}
	if op.Kind == OpCAS {
		j.Expected = &op.Expected
	}
	if !op.Pending {
		j.Return = &op.Return
		switch op.Kind {
		case OpGet:
			j.Output = &op.Output
		case OpCAS:
			j.OK = &op.OK
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads one operation of the history format and validates it; the error is an
// *InputError naming the field.
func (op *Op) UnmarshalJSON(data []byte) error {
	decoded, err := decodeOp(data)
	if err != nil {
		return err
	}
	*op = decoded
	return nil
}

// ReadHistory reads a history in the JSON Lines format (one operation per line; blank lines
// are skipped). A malformed line stops it with an *InputError naming the line and the field.
func ReadHistory(r io.Reader) ([]Op, error) {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), historyLineMaxBytes)
	var history []Op
	line := 0
	for scanner.Scan() {
		line++
		text := bytes.TrimSpace(scanner.Bytes())
		if len(text) == 0 {
			continue
		}
		if len(history) == historyOpsMax {
			return nil, &InputError{Line: line, Msg: fmt.Sprintf("more than %d operations: split the history (keys are checked independently)", historyOpsMax)}
		}
		op, err := decodeOp(text)
		if err != nil {
			var inputErr *InputError
			if errors.As(err, &inputErr) {
				inputErr.Line = line
			}
			return nil, err
		}
		history = append(history, op)
	}
	if err := scanner.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &InputError{Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", historyLineMaxBytes)}
		}
		return nil, fmt.Errorf("reading history: %w", err)
	}
	return history, nil
}

// WriteHistory writes history in the format ReadHistory reads, one operation per line.
func WriteHistory(w io.Writer, history []Op) error {
	bw := bufio.NewWriter(w)
	for i, op := range history {
		line, err := op.MarshalJSON()
		if err != nil {
			var inputErr *InputError
			if errors.As(err, &inputErr) {
				inputErr.Index = i
			}
			return err
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// decodeOp decodes and validates one line of the history format.
func decodeOp(data []byte) (Op, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Op{}, &InputError{Msg: fmt.Sprintf("not a JSON object: %v", err)}
	}
	if fields == nil {
		return Op{}, &InputError{Msg: "not a JSON object: null"}
	}
	unknown := make([]string, 0)
	for name := range fields {
		if !slices.Contains(historyFields, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Op{}, &InputError{Field: unknown[0], Msg: fmt.Sprintf("unknown field; valid fields: %s%s", strings.Join(historyFields, ", "), suggest.Phrase(unknown[0], historyFields))}
	}
	d := opDecoder{fields: fields}
	var op Op
	if kind, err := ParseOpKind(d.requiredString("op")); d.err == nil && err != nil {
		d.fail("op", err.Error())
	} else {
		op.Kind = kind
	}
	op.Client = int(d.integer("client", 0, int64(^uint(0)>>1)))
	op.Key = d.requiredString("key")
	op.Call = d.integer("call", -1<<63, 1<<63-1)
	if d.err != nil {
		return Op{}, d.err
	}
	if raw, ok := fields["return"]; !ok {
		d.fail("return", "missing (null for an operation whose outcome the client never learned)")
	} else if string(raw) == "null" {
		op.Pending = true
	} else {
		op.Return = d.integer("return", -1<<63, 1<<63-1)
	}
	noField := fmt.Sprintf("a %s has none", op.Kind)
	outcomeUnknown := `its outcome was never learned ("return": null)`
	if op.Kind != OpGet {
		op.Value = d.requiredString("value")
	} else {
		d.absent("value", noField)
	}
	if op.Kind == OpCAS {
		op.Expected = d.requiredString("expected")
	} else {
		d.absent("expected", noField)
	}
	switch {
	case op.Kind != OpGet:
		d.absent("output", noField)
	case op.Pending:
		d.absent("output", outcomeUnknown)
	default:
		op.Output = d.nullableString("output", `missing: a completed get needs the value it returned (null or "" for a key never written)`)
	}
	switch {
	case op.Kind == OpCAS && op.Pending:
		d.absent("ok", outcomeUnknown)
	case op.Kind == OpCAS:
		op.OK = d.boolean("ok")
	case string(fields["ok"]) != "true": // "ok": true on other kinds says only that the call completed
		d.absent("ok", fmt.Sprintf("only a cas reports whether it swapped (a %s that did not take effect is left out of the history; one whose outcome is unknown has \"return\": null)", op.Kind))
	}
	if d.err != nil {
		return Op{}, d.err
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// opDecoder reads fields of one JSON object, keeping the first error.
type opDecoder struct {
	fields map[string]json.RawMessage
	err    error
}

func (d *opDecoder) fail(field, msg string) {
	if d.err == nil {
		d.err = &InputError{Field: field, Msg: msg}
	}
}

// requiredString reads a field that must hold a string.
func (d *opDecoder) requiredString(field string) string {
	raw, ok := d.fields[field]
	if !ok {
		d.fail(field, "missing")
		return ""
	}
	var s string
	if string(raw) == "null" || json.Unmarshal(raw, &s) != nil {
		d.fail(field, fmt.Sprintf("%s: want a string", raw))
	}
	return s
}

// nullableString reads a field that must be present and holds a string or null (read as "").
func (d *opDecoder) nullableString(field, missing string) string {
	raw, ok := d.fields[field]
	if !ok {
		d.fail(field, missing)
		return ""
	}
	var s string
	if string(raw) != "null" && json.Unmarshal(raw, &s) != nil {
		d.fail(field, fmt.Sprintf("%s: want a string or null", raw))
	}
	return s
}

func (d *opDecoder) integer(field string, low, high int64) int64 {
	raw, ok := d.fields[field]
	if !ok {
		d.fail(field, "missing")
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < low || n > high {
		want := "an integer"
		if low == 0 {
			want = "an integer >= 0"
		}
		d.fail(field, fmt.Sprintf("%s: want %s", raw, want))
		return 0
	}
	return n
}

func (d *opDecoder) boolean(field string) bool {
	raw, ok := d.fields[field]
	switch {
	case !ok:
		d.fail(field, "missing: a completed cas needs whether it swapped (true or false)")
	case string(raw) == "true":
		return true
	case string(raw) != "false":
		d.fail(field, fmt.Sprintf("%s: want true or false", raw))
	}
	return false
}

// absent fails unless field is absent or null: the operation has no use for it, for reason.
func (d *opDecoder) absent(field, reason string) {
	if raw, ok := d.fields[field]; ok && string(raw) != "null" {
		d.fail(field, fmt.Sprintf("%s given, but %s: leave it out", raw, reason))
	}
}
