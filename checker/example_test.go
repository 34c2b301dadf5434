package checker_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/raftsim/raftsim/checker"
)

// A read that misses a write which completed before it started is a stale read.
func ExampleCheck() {
	const ms = int64(time.Millisecond)
	history := []checker.Op{
		{Client: 1, Kind: checker.OpPut, Key: "k", Value: "x", Call: 0, Return: 10 * ms},
		{Client: 2, Kind: checker.OpGet, Key: "k", Output: "", Call: 20 * ms, Return: 30 * ms},
		{Client: 3, Kind: checker.OpAppend, Key: "other", Value: "y", Pending: true, Call: 5 * ms},
	}
	result, err := checker.Check(history, checker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(result.Verdict, result.Key, len(result.Ops))
	fmt.Print(result.Describe())
	// Output:
	// illegal k 2
	// not linearizable: key "k": no order of these 2 operations agrees with both real time and a single copy of the key's value:
	//   [1] c1 put("k", "x"), called at 0.000000s, returned at 0.010000s
	//   [2] c2 get("k") -> "", called at 0.020000s, returned at 0.030000s
	// The longest valid order is [1], leaving the value "x".
	// Next, [2] must take effect by its return at 0.030000s, but no operation that could come next fits: [2] get returned "" but the value was "x".
}

func ExampleCheckLiveness() {
	const s = int64(time.Second)
	history := []checker.Op{
		{Client: 1, Kind: checker.OpPut, Key: "k", Value: "x", Call: 9 * s, Return: 12 * s},
	}
	healAt, bound := 10*s, 5*s
	fmt.Println(checker.CheckLiveness(history, healAt, bound, 11*s).OK)
	fmt.Println(checker.CheckLiveness(history, healAt, bound, -1).Reason)
	// Output:
	// true
	// liveness: no leader was elected after the last fault healed at 10.000000s
}

// A history in the JSON Lines format of `simrun check`: one operation per line, with times in
// any unit (here, without one).
func ExampleReadHistory() {
	history, err := checker.ReadHistory(strings.NewReader(`
{"client": 1, "op": "append", "key": "k", "value": "a", "call": 0, "return": 10}
{"client": 2, "op": "append", "key": "k", "value": "b", "call": 15, "return": null}
{"client": 3, "op": "get", "key": "k", "output": "ba", "call": 20, "return": 30}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	result, err := checker.Check(history, checker.Options{TimeUnit: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(result.Describe())
	// Output:
	// not linearizable: key "k": no order of these 3 operations agrees with both real time and a single copy of the key's value:
	//   [1] c1 append("k", "a"), called at 0, returned at 10
	//   [2] c2 append("k", "b") pending, called at 15, outcome never learned
	//   [3] c3 get("k") -> "ba", called at 20, returned at 30
	// The longest valid order is [1] [2], leaving the value "ab".
	// Next, [3] must take effect by its return at 30, but no operation that could come next fits: [3] get returned "ba" but the value was "ab".
}
