package dnscache

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

type fakeDNS struct {
	calls map[string]int
	fail  error
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.calls["txt "+name]++
	if f.fail != nil {
		return nil, f.fail
	}
	if name == "missing.example" {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return []string{"v=spf1 -all"}, nil
}
func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	f.calls["mx "+name]++
	return []*net.MX{{Host: "mx." + name, Pref: 10}}, nil
}
func (f *fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.calls["ip "+host]++
	return []net.IPAddr{{IP: net.IPv4(192, 0, 2, 1)}}, nil
}
func (f *fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	f.calls["ptr "+addr]++
	return []string{"host.example."}, nil
}

func TestCacheHitsExpiryAndNegatives(t *testing.T) {
	up := &fakeDNS{calls: map[string]int{}}
	r := New(up, 5*time.Minute, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		txt, err := r.LookupTXT(ctx, "example.net")
		if err != nil || len(txt) != 1 {
			t.Fatal(txt, err)
		}
		if _, err := r.LookupTXT(ctx, "missing.example"); err == nil {
			t.Fatal("negative answer lost")
		}
		r.LookupMX(ctx, "example.net")
		r.LookupIPAddr(ctx, "example.net")
		r.LookupAddr(ctx, "192.0.2.1")
	}
	for k, n := range up.calls {
		if n != 1 {
			t.Errorf("%s asked upstream %d times, want 1", k, n)
		}
	}
	now = now.Add(2 * time.Minute) // negative expired, positive not
	r.LookupTXT(ctx, "missing.example")
	r.LookupTXT(ctx, "example.net")
	if up.calls["txt missing.example"] != 2 || up.calls["txt example.net"] != 1 {
		t.Errorf("after 2 min: %v", up.calls)
	}
	now = now.Add(5 * time.Minute)
	r.LookupTXT(ctx, "example.net")
	if up.calls["txt example.net"] != 2 {
		t.Errorf("positive answer not refreshed after its ttl: %v", up.calls)
	}
}

func TestTemporaryFailuresAreNotCached(t *testing.T) {
	up := &fakeDNS{calls: map[string]int{}, fail: &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}}
	r := New(up, time.Minute, time.Minute)
	ctx := context.Background()
	r.LookupTXT(ctx, "flaky.example")
	up.fail = nil
	txt, err := r.LookupTXT(ctx, "flaky.example")
	if err != nil || len(txt) != 1 || up.calls["txt flaky.example"] != 2 {
		t.Errorf("after a timeout: %v %v calls %v", txt, err, up.calls)
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		t.Errorf("cached error returned: %v", err)
	}
}

// TestAnswersAreCopies: a caller sorting or editing its answer (the queue sorts MX
// records) does not change what the next caller gets.
func TestAnswersAreCopies(t *testing.T) {
	up := &fakeDNS{calls: map[string]int{}}
	r := New(up, time.Minute, time.Minute)
	ctx := context.Background()
	txt, _ := r.LookupTXT(ctx, "example.net")
	txt[0] = "changed"
	mx, _ := r.LookupMX(ctx, "example.net")
	mx[0].Host = "changed"
	if again, _ := r.LookupTXT(ctx, "example.net"); again[0] != "v=spf1 -all" {
		t.Errorf("cached TXT changed through a caller's slice: %q", again)
	}
	if again, _ := r.LookupMX(ctx, "example.net"); again[0].Host != "mx.example.net" {
		t.Errorf("cached MX changed through a caller's slice: %q", again[0].Host)
	}
}
