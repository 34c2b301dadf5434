package checker

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestHistoryRoundTrip(t *testing.T) {
	history := []Op{
		put(0, "k", "a", 0, 10),
		get(1, "k", "a", 5, 15),
		get(2, "missing", "", 5, 15),
		appendOp(3, "k", "b", 20, 30),
		cas(4, "k", "ab", "c", true, 40, 50),
		cas(4, "k", "zz", "d", false, 60, 70),
		pending(appendOp(5, "k", "x", 80, 0)),
		pending(cas(6, "k", "c", "e", false, 90, 0)),
		pending(get(7, "k", "", 95, 0)),
		put(8, "negative times", "v", -20, -10),
	}
	var file bytes.Buffer
	if err := WriteHistory(&file, history); err != nil {
		t.Fatal(err)
	}
	want := `{"client":0,"op":"put","key":"k","value":"a","call":0,"return":10}
{"client":1,"op":"get","key":"k","output":"a","call":5,"return":15}
{"client":2,"op":"get","key":"missing","output":"","call":5,"return":15}
{"client":3,"op":"append","key":"k","value":"b","call":20,"return":30}
{"client":4,"op":"cas","key":"k","value":"c","expected":"ab","ok":true,"call":40,"return":50}
{"client":4,"op":"cas","key":"k","value":"d","expected":"zz","ok":false,"call":60,"return":70}
{"client":5,"op":"append","key":"k","value":"x","call":80,"return":null}
{"client":6,"op":"cas","key":"k","value":"e","expected":"c","call":90,"return":null}
{"client":7,"op":"get","key":"k","call":95,"return":null}
{"client":8,"op":"put","key":"negative times","value":"v","call":-20,"return":-10}
`
	if file.String() != want {
		t.Fatalf("written:\n%s\nwant:\n%s", file.String(), want)
	}
	read, err := ReadHistory(&file)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, history) {
		t.Fatalf("read back:\n%+v\nwant:\n%+v", read, history)
	}
}

func TestHistoryLenientForms(t *testing.T) {
	read, err := ReadHistory(strings.NewReader(`
{"client": 1, "op": "get", "key": "k", "output": null, "call": 1, "return": 2}

{"client": 2, "op": "put", "key": "k", "value": "v", "ok": true, "output": null, "expected": null, "call": 3, "return": 4}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Op{get(1, "k", "", 1, 2), put(2, "k", "v", 3, 4)}
	if !reflect.DeepEqual(read, want) {
		t.Fatalf("read %+v, want %+v", read, want)
	}
}

// TestHistoryBadInput: every malformed line is rejected with its line and field named and what
// is valid, never read as something else.
func TestHistoryBadInput(t *testing.T) {
	good := `{"client": 1, "op": "put", "key": "k", "value": "v", "call": 1, "return": 2}`
	cases := []struct {
		name, line, field string
		says              []string
	}{
		{"syntax", `{"client": 1, "op": "put",`, "", []string{"not a JSON object"}},
		{"not an object", `[1, 2]`, "", []string{"not a JSON object"}},
		{"null line", `null`, "", []string{"not a JSON object"}},
		{"unknown op", `{"client": 1, "op": "gte", "key": "k", "output": "", "call": 1, "return": 2}`, "op", []string{`unknown operation "gte"`, "get, put, append, cas", `(did you mean "get"?)`}},
		{"op not a string", `{"client": 1, "op": 1, "key": "k", "call": 1, "return": 2}`, "op", []string{"want a string"}},
		{"missing op", `{"client": 1, "key": "k", "call": 1, "return": 2}`, "op", []string{"missing"}},
		{"missing client", `{"op": "put", "key": "k", "value": "v", "call": 1, "return": 2}`, "client", []string{"missing"}},
		{"negative client", `{"client": -1, "op": "put", "key": "k", "value": "v", "call": 1, "return": 2}`, "client", []string{"want an integer >= 0"}},
		{"fractional call", `{"client": 1, "op": "put", "key": "k", "value": "v", "call": 1.5, "return": 2}`, "call", []string{"want an integer"}},
		{"missing key", `{"client": 1, "op": "put", "value": "v", "call": 1, "return": 2}`, "key", []string{"missing"}},
		{"missing return", `{"client": 1, "op": "put", "key": "k", "value": "v", "call": 1}`, "return", []string{"missing", "null"}},
		{"return before call", `{"client": 1, "op": "put", "key": "k", "value": "v", "call": 5, "return": 4}`, "return", []string{"before its call"}},
		{"missing value", `{"client": 1, "op": "append", "key": "k", "call": 1, "return": 2}`, "value", []string{"missing"}},
		{"value as a number", `{"client": 1, "op": "put", "key": "k", "value": 3, "call": 1, "return": 2}`, "value", []string{"3: want a string"}},
		{"missing expected", `{"client": 1, "op": "cas", "key": "k", "value": "v", "ok": true, "call": 1, "return": 2}`, "expected", []string{"missing"}},
		{"missing ok", `{"client": 1, "op": "cas", "key": "k", "value": "v", "expected": "", "call": 1, "return": 2}`, "ok", []string{"missing"}},
		{"missing output", `{"client": 1, "op": "get", "key": "k", "call": 1, "return": 2}`, "output", []string{"missing", "completed get"}},
		{"value on a get", `{"client": 1, "op": "get", "key": "k", "value": "v", "output": "", "call": 1, "return": 2}`, "value", []string{"a get has none"}},
		{"output on a pending get", `{"client": 1, "op": "get", "key": "k", "output": "v", "call": 1, "return": null}`, "output", []string{"never learned"}},
		{"ok false on a put", `{"client": 1, "op": "put", "key": "k", "value": "v", "ok": false, "call": 1, "return": 2}`, "ok", []string{"only a cas"}},
		{"unknown field", `{"client": 1, "op": "put", "key": "k", "vaule": "v", "call": 1, "return": 2}`, "vaule", []string{"unknown field", `(did you mean "value"?)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHistory(strings.NewReader(good + "\n\n" + tc.line + "\n" + good + "\n"))
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("error %v, want an *InputError", err)
			}
			if inputErr.Line != 3 || inputErr.Field != tc.field {
				t.Fatalf("error %q names line %d field %q, want line 3 field %q", err, inputErr.Line, inputErr.Field, tc.field)
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestParseOpKind(t *testing.T) {
	for _, k := range []OpKind{OpGet, OpPut, OpAppend, OpCAS} {
		if parsed, err := ParseOpKind(k.String()); err != nil || parsed != k {
			t.Fatalf("ParseOpKind(%q) = %v, %v", k, parsed, err)
		}
	}
	if _, err := ParseOpKind("apend"); err == nil || !strings.Contains(err.Error(), `(did you mean "append"?)`) {
		t.Fatalf("ParseOpKind(apend): %v", err)
	}
	if _, err := ParseOpKind("delete"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("ParseOpKind(delete) suggests a name that is not close: %v", err)
	}
	if OpKind(0).Valid() || OpKind(5).Valid() {
		t.Fatal("0 and 5 are not kinds")
	}
	if _, err := (Op{Key: "k"}).MarshalJSON(); err == nil {
		t.Fatal("an operation without a kind was encoded")
	}
}
