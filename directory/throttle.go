package directory

import (
	"net/netip"
	"sync"
	"time"
)

// throttle slows down repeated failed logins with growing delays. Failures are counted
// per remote IP and per (account, remote IP) pair — never per account alone — so an
// attacker hammering an account from one place slows only themselves, and the real
// user logging in from elsewhere is not locked out.
type throttle struct {
	after    int           // failures allowed before delays start
	base     time.Duration // first delay
	maxDelay time.Duration
	window   time.Duration // a failure older than this no longer counts
	now      func() time.Time

	mu      sync.Mutex
	entries map[throttleKey]*failures
}

type throttleKey struct {
	ip      netip.Addr
	account string // "" for the per-IP counter
}

type failures struct {
	count int
	last  time.Time
}

// maxThrottleEntries bounds the table; expired entries are swept when it fills.
const maxThrottleEntries = 100_000

func newThrottle(after int, maxDelay, window time.Duration, now func() time.Time) *throttle {
	if after <= 0 {
		after = 5
	}
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	if window <= 0 {
		window = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &throttle{after: after, base: 250 * time.Millisecond, maxDelay: maxDelay, window: window, now: now,
		entries: map[throttleKey]*failures{}}
}

// delay is how long an attempt for account from ip must wait first.
func (t *throttle) delay(ip netip.Addr, account string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := max(t.countLocked(throttleKey{ip, ""}), t.countLocked(throttleKey{ip, account}))
	if n < t.after {
		return 0
	}
	d := t.base << min(n-t.after, 20)
	return min(d, t.maxDelay)
}

func (t *throttle) countLocked(k throttleKey) int {
	f := t.entries[k]
	if f == nil {
		return 0
	}
	if t.now().Sub(f.last) > t.window {
		delete(t.entries, k)
		return 0
	}
	return f.count
}

func (t *throttle) fail(ip netip.Addr, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= maxThrottleEntries {
		t.sweepLocked()
	}
	now := t.now()
	for _, k := range []throttleKey{{ip, ""}, {ip, account}} {
		f := t.entries[k]
		if f == nil || now.Sub(f.last) > t.window {
			f = &failures{}
			t.entries[k] = f
		}
		f.count++
		f.last = now
	}
}

// succeed clears the pair's failures (the IP's own count decays by itself).
func (t *throttle) succeed(ip netip.Addr, account string) {
	t.mu.Lock()
	delete(t.entries, throttleKey{ip, account})
	t.mu.Unlock()
}

func (t *throttle) sweepLocked() {
	now := t.now()
	for k, f := range t.entries {
		if now.Sub(f.last) > t.window {
			delete(t.entries, k)
		}
	}
	// Still full: a flood of distinct addresses. Forget the lot rather than grow.
	if len(t.entries) >= maxThrottleEntries {
		t.entries = map[throttleKey]*failures{}
	}
}
