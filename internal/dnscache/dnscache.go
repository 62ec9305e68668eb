// Package dnscache puts a small time-bounded cache in front of a DNS resolver, so that
// the SMTP checks (SPF and DMARC per inbound message) and the outbound queue's MX
// lookups do not ask the network for the same names again and again. Go's resolver
// does not report record TTLs, so answers are kept for a fixed time (shorter for
// "no such name"), and temporary failures are never cached.
package dnscache

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// Upstream is what is cached: the lookups the SMTP front end and the queue make.
type Upstream interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// maxEntries bounds the cache; when full, expired entries are swept, then all dropped.
const maxEntries = 10_000

// Resolver caches an Upstream.
type Resolver struct {
	up          Upstream
	ttl, negTTL time.Duration
	now         func() time.Time

	mu      sync.Mutex
	entries map[key]entry
}

type key struct {
	kind byte // 't' TXT, 'm' MX, 'i' IP, 'a' PTR
	name string
}

type entry struct {
	value   any
	err     error
	expires time.Time
}

// New caches up: answers for ttl, "not found" for negTTL.
func New(up Upstream, ttl, negTTL time.Duration) *Resolver {
	return &Resolver{up: up, ttl: ttl, negTTL: negTTL, now: time.Now, entries: map[key]entry{}}
}

func lookup[T any](r *Resolver, k key, fetch func() (T, error)) (T, error) {
	now := r.now()
	r.mu.Lock()
	e, ok := r.entries[k]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		v, _ := e.value.(T)
		return v, e.err
	}
	v, err := fetch()
	var ttl time.Duration
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		ttl = r.ttl
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		ttl = r.negTTL
	default:
		return v, err // temporary: ask again next time
	}
	r.mu.Lock()
	if len(r.entries) >= maxEntries {
		for k, e := range r.entries {
			if !now.Before(e.expires) {
				delete(r.entries, k)
			}
		}
		if len(r.entries) >= maxEntries {
			r.entries = map[key]entry{}
		}
	}
	r.entries[k] = entry{value: v, err: err, expires: now.Add(ttl)}
	r.mu.Unlock()
	return v, err
}

// Each answer is returned as a fresh slice: callers sort and trim what they get, and
// the cached copy is shared.

// LookupTXT implements Upstream.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := lookup(r, key{'t', name}, func() ([]string, error) { return r.up.LookupTXT(ctx, name) })
	return slices.Clone(v), err
}

// LookupMX implements Upstream.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := lookup(r, key{'m', name}, func() ([]*net.MX, error) { return r.up.LookupMX(ctx, name) })
	out := make([]*net.MX, len(v))
	for i, mx := range v {
		c := *mx
		out[i] = &c
	}
	return out, err
}

// LookupIPAddr implements Upstream.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	v, err := lookup(r, key{'i', host}, func() ([]net.IPAddr, error) { return r.up.LookupIPAddr(ctx, host) })
	return slices.Clone(v), err
}

// LookupAddr implements Upstream.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := lookup(r, key{'a', addr}, func() ([]string, error) { return r.up.LookupAddr(ctx, addr) })
	return slices.Clone(v), err
}
