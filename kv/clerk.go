package kv

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
)

// ClerkConfig configures the clerks (simulated client processes) of a run.
type ClerkConfig struct {
	// Servers are the sim node ids of the KV servers.
	Servers []sim.NodeID
	// Workload says which calls a clerk makes and when.
	Workload Workload
	// History records every call (required; shared by all clerks of the run).
	History *History
	// RequestTimeout is how long a clerk waits for a reply before trying the next server
	// (0 = DefaultRequestTimeout). It should exceed an election timeout plus a commit.
	RequestTimeout sim.Time
	// MaxAttempts caps the sends of one call; after the last one times out or fails the clerk
	// gives up: the call stays Pending in the history (its outcome is unknown) and the clerk
	// moves on to its next call (0 = DefaultMaxAttempts).
	MaxAttempts int
	// RetryBackoff is the pause after every server in turn answered without success (no leader
	// known), so that a leaderless cluster is not flooded (0 = DefaultRetryBackoff). It doubles
	// after each such round of one call, up to RetryBackoffMax (0 = DefaultRetryBackoffMax), so
	// that the attempt cap spans seconds of unavailability rather than a burst of refusals.
	RetryBackoff, RetryBackoffMax sim.Time
	// Probe, when set, hears the clerk's code probes (probes.go).
	Probe ProbeFunc
}

// Clerk defaults.
const (
	DefaultRequestTimeout  = 400 * sim.Millisecond
	DefaultMaxAttempts     = 64
	DefaultRetryBackoff    = 20 * sim.Millisecond
	DefaultRetryBackoffMax = 500 * sim.Millisecond
)

func (c ClerkConfig) withDefaults() ClerkConfig {
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = max(DefaultRetryBackoffMax, c.RetryBackoff)
	}
	return c
}

// Validate reports a configuration that cannot run.
func (c ClerkConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.Servers) == 0:
		return fmt.Errorf("kv: ClerkConfig.Servers is empty")
	case c.History == nil:
		return fmt.Errorf("kv: ClerkConfig.History is nil (create one with NewHistory(sim.Now))")
	case c.RequestTimeout < 0 || c.MaxAttempts < 0 || c.RetryBackoff < 0:
		return fmt.Errorf("kv: ClerkConfig has a negative timeout, attempt cap or backoff")
	case c.RetryBackoffMax < c.RetryBackoff:
		return fmt.Errorf("kv: ClerkConfig.RetryBackoffMax (%v) is below RetryBackoff (%v)", c.RetryBackoffMax, c.RetryBackoff)
	}
	return c.Workload.Validate()
}

// Factory returns a sim.Factory building a fresh Clerk per incarnation. It panics on an invalid
// configuration.
func (c ClerkConfig) Factory() sim.Factory {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	c = c.withDefaults()
	return func(sim.NodeID) sim.Node { return &Clerk{cfg: c} }
}

// ClerkStats counts what one clerk incarnation did.
type ClerkStats struct {
	Calls, Completed, GaveUp int64
	Sends, Timeouts          int64
	Replies                  [errCount]int64
	StaleReplies             int64 // replies to an earlier call or attempt, ignored
	BadReplies               int64
}

// Timer kinds; a timer's tag is kind | generation<<2, and only the latest generation counts.
const (
	timerThink = iota
	timerTimeout
	timerBackoff
)

// Clerk is a simulated client process (a sim.Node): it makes the calls its workload draws, one
// at a time, each with a fresh sequence number, and retries a call on other servers until a
// server answers it or the attempt cap is hit. The client id is drawn at start from the
// clerk's stream, so a restarted clerk is a new client to the servers' duplicate tables.
type Clerk struct {
	cfg      ClerkConfig
	env      *sim.Env
	client   uint64
	gen      *generator
	pickRand *sim.Rand

	seq      uint64
	active   bool // a call is outstanding
	cmd      Command
	keyIndex int
	call     CallID
	attempts int
	// failures counts consecutive unsuccessful replies or timeouts; every len(Servers) of
	// them the clerk backs off.
	failures int
	// leader is the index in cfg.Servers of the server believed to lead; target the one the
	// current attempt went to.
	leader, target int
	timerGen       uint64

	sendBuf []byte
	stats   ClerkStats
}

// Start picks the client id and schedules the first call.
func (c *Clerk) Start(env *sim.Env) {
	c.env = env
	rnd := env.Rand()
	c.client = rnd.Uint64() | 1 // never 0, so a zeroed reply cannot match
	// The workload and the server picks are sequences, each on a stream of its own seeded
	// here (env.Rand is keyed by instant): the k-th call of a clerk is the same whatever
	// retries and delays the faults cause, so removing a fault while shrinking keeps the
	// workload.
	c.pickRand = sim.NewRand(rnd.Uint64(), "kv/clerk/server-pick")
	c.gen = newGenerator(c.cfg.Workload, sim.NewRand(rnd.Uint64(), "kv/clerk/workload"), int(env.ID()))
	c.leader = c.pickRand.Intn(len(c.cfg.Servers))
	c.scheduleNext()
}

// Stats returns the clerk's counters.
func (c *Clerk) Stats() ClerkStats { return c.stats }

// ClientID returns the id the clerk uses in its requests.
func (c *Clerk) ClientID() uint64 { return c.client }

func (c *Clerk) setTimer(after sim.Time, kind uint64) {
	c.timerGen++
	c.env.SetTimer(after, kind|c.timerGen<<2)
}

func (c *Clerk) scheduleNext() {
	c.setTimer(c.gen.think(), timerThink)
}

// Timer handles think time, request timeouts and backoff.
func (c *Clerk) Timer(tag uint64) {
	if tag>>2 != c.timerGen {
		return // superseded
	}
	switch tag & 3 {
	case timerThink:
		c.startCall()
	case timerTimeout:
		c.stats.Timeouts++
		if len(c.cfg.Servers) > 1 {
			c.cfg.Probe.hit(c.env.ID(), ProbeClerkTimeoutOtherSrv)
		}
		c.leader = -1
		c.retry(c.nextServer(c.target))
	case timerBackoff:
		c.send()
	}
}

func (c *Clerk) startCall() {
	if !c.gen.more(c.cfg.History.Now()) {
		return // the workload is over for this clerk
	}
	c.seq++
	c.cmd, c.keyIndex = c.gen.next(c.seq)
	c.cmd.Client = c.client
	c.call = c.cfg.History.Invoke(int(c.env.ID()), &c.cmd)
	c.active = true
	c.attempts = 0
	c.failures = 0
	c.stats.Calls++
	if c.leader < 0 || c.cfg.Workload.Roam {
		c.leader = c.pickRand.Intn(len(c.cfg.Servers))
	}
	c.target = c.leader
	c.send()
}

func (c *Clerk) send() {
	c.attempts++
	c.stats.Sends++
	c.sendBuf = AppendRequest(c.sendBuf[:0], &c.cmd)
	c.env.Send(c.cfg.Servers[c.target], c.sendBuf)
	c.setTimer(c.cfg.RequestTimeout, timerTimeout)
}

// Receive handles a server's reply.
func (c *Clerk) Receive(from sim.NodeID, payload []byte) {
	r, err := ParseReply(payload)
	if err != nil {
		c.stats.BadReplies++
		return
	}
	if !c.active || r.Client != c.client || r.Seq != c.seq {
		if r.Client == c.client {
			c.cfg.Probe.hit(c.env.ID(), ProbeClerkReplyAfterCall)
		}
		c.stats.StaleReplies++
		return
	}
	c.stats.Replies[r.Err]++
	fromIndex := c.serverIndex(from)
	if r.Err == OK {
		c.active = false
		c.leader = fromIndex
		c.stats.Completed++
		c.cfg.History.Complete(c.call, r.Value, r.Swapped)
		c.gen.observe(&c.cmd, c.keyIndex, r.Value, r.Swapped)
		if c.attempts > 1 {
			c.gen.retried()
		}
		c.scheduleNext()
		return
	}
	if fromIndex != c.target {
		// A late answer from a server tried earlier: the current attempt is still out.
		c.cfg.Probe.hit(c.env.ID(), ProbeClerkLateReply)
		c.stats.StaleReplies++
		return
	}
	c.leader = -1
	next := c.nextServer(c.target)
	if r.Err != ErrBusy {
		if hint := c.serverIndex(sim.NodeID(r.LeaderHint)); r.LeaderHint != NoLeader && hint >= 0 && hint != c.target {
			next = hint
		}
	} else {
		next = c.target // busy: the same server, after a backoff
		c.failures = len(c.cfg.Servers) - 1
	}
	c.retry(next)
}

// retry sends the current call to server index next, or gives up after MaxAttempts.
func (c *Clerk) retry(next int) {
	if c.attempts >= c.cfg.MaxAttempts {
		// Give up: the outcome stays unknown, so the call stays Pending in the history.
		c.cfg.Probe.hit(c.env.ID(), ProbeClerkGaveUp)
		c.cfg.History.GiveUp(c.call)
		c.active = false
		c.stats.GaveUp++
		c.scheduleNext()
		return
	}
	c.target = next
	c.failures++
	if rounds := c.failures / len(c.cfg.Servers); c.failures%len(c.cfg.Servers) == 0 {
		backoff := c.cfg.RetryBackoff
		for i := 1; i < rounds && backoff < c.cfg.RetryBackoffMax; i++ {
			backoff *= 2
		}
		c.setTimer(min(backoff, c.cfg.RetryBackoffMax), timerBackoff)
		return
	}
	c.send()
}

func (c *Clerk) nextServer(i int) int { return (i + 1) % len(c.cfg.Servers) }

func (c *Clerk) serverIndex(id sim.NodeID) int {
	for i, s := range c.cfg.Servers {
		if s == id {
			return i
		}
	}
	return -1
}
