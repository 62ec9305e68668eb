package directory

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// authCache remembers recently verified credentials, so that a client that sends its
// password with every request (ActiveSync and Autodiscover send HTTP Basic each time, a
// phone several times a minute) costs one argon2id check every few minutes instead of
// one per request, as Dovecot's auth_cache does. An entry is keyed by an HMAC, under a
// key made at start and never stored, of the login name, the secret and the account's
// current password hash: a changed password matches no entry, and the cache holds no
// password. Failures are never cached: they go through argon2id and the throttle.
type authCache struct {
	key []byte
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]time.Time // → expiry
}

func newAuthCache(ttl time.Duration, max int) *authCache {
	k := make([]byte, 32)
	rand.Read(k)
	return &authCache{key: k, ttl: ttl, max: max, entries: map[[sha256.Size]byte]time.Time{}}
}

func (c *authCache) sum(login, secret, hash string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	for _, s := range []string{login, secret, hash} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// hit reports whether these credentials were verified against this hash within the TTL.
func (c *authCache) hit(login, secret, hash string, now time.Time) bool {
	if c == nil || c.ttl <= 0 {
		return false
	}
	k := c.sum(login, secret, hash)
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[k]
	if ok && now.After(exp) {
		delete(c.entries, k)
		return false
	}
	return ok
}

// add remembers verified credentials. A full cache first drops expired entries, then
// (still full) an arbitrary one, so memory stays bounded.
func (c *authCache) add(login, secret, hash string, now time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	k := c.sum(login, secret, hash)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for e, exp := range c.entries {
			if now.After(exp) {
				delete(c.entries, e)
			}
		}
		for e := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, e)
		}
	}
	c.entries[k] = now.Add(c.ttl)
}

// now is the directory's clock.
func (d *Directory) now() time.Time {
	if d.opts.Now != nil {
		return d.opts.Now()
	}
	return time.Now()
}
