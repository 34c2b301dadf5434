// Package bad holds one file per construct that detguard must reject. Every line that must be
// reported carries a "want" comment naming the rule.
package bad

import "time"

func clock() time.Duration {
	start := time.Now()          // want time
	time.Sleep(time.Millisecond) // want time
	<-time.After(time.Second)    // want time channel
	t := time.NewTimer(0)        // want time
	t.Stop()
	tk := time.NewTicker(time.Second) // want time
	tk.Stop()
	_ = time.Tick(time.Second)               // want time
	time.AfterFunc(0, func() {})             // want time
	_ = time.Until(start)                    // want time
	now := time.Now                          // want time
	return time.Since(now()) + 5*time.Second // want time
}
