package directory

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

func newDir(t *testing.T) (*Directory, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := New(st, Options{DefaultDomain: "example.org", ThrottleAfter: 3, ThrottleMaxDelay: 2 * time.Second})
	return d, st
}

var loop = netip.MustParseAddr("127.0.0.1")

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format %q", h)
	}
	if !VerifyPassword(h, "correct horse") {
		t.Error("right password refused")
	}
	if VerifyPassword(h, "correct horse ") || VerifyPassword(h, "") {
		t.Error("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5"} {
		if VerifyPassword(bad, "x") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestAuthenticateNameForms(t *testing.T) {
	d, st := newDir(t)
	ctx := context.Background()
	acct, newDomain, err := d.CreateUser(ctx, NewUser{Email: "Bob@Example.org", Password: "s3cret"})
	if err != nil || !newDomain {
		t.Fatalf("create: %v (new domain %v)", err, newDomain)
	}
	if err := st.AddAlias(ctx, acct.ID, "robert@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob@example.org", "BOB@EXAMPLE.ORG", "robert@example.org", `EXAMPLE\bob`, `example.org\bob`, "bob"} {
		got, err := d.Authenticate(ctx, name, "s3cret", "imap", loop)
		if err != nil || got.ID != acct.ID {
			t.Errorf("login as %q: %v", name, err)
		}
	}
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "x"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v", err)
	}
}

func TestUniformFailure(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	_, errWrong := d.Authenticate(ctx, "bob@example.org", "nope", "imap", ip)
	_, errUnknown := d.Authenticate(ctx, "nobody@example.org", "nope", "imap", netip.MustParseAddr("192.0.2.2"))
	_, errGarbage := d.Authenticate(ctx, `\\@@`, "nope", "imap", netip.MustParseAddr("192.0.2.3"))
	for _, err := range []error{errWrong, errUnknown, errGarbage} {
		if err != ErrAuthFailed {
			t.Errorf("failure %v, want exactly ErrAuthFailed", err)
		}
	}
}

func TestThrottleGrowsPerIPAndSparesOtherAddresses(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	th := newThrottle(3, 10*time.Second, 15*time.Minute, clock)
	attacker := netip.MustParseAddr("198.51.100.7")
	user := netip.MustParseAddr("203.0.113.9")
	var prev time.Duration
	for i := 0; i < 10; i++ {
		d := th.delay(attacker, "bob@example.org")
		if i < 3 && d != 0 {
			t.Fatalf("attempt %d delayed %v before the threshold", i, d)
		}
		if i > 3 && d <= prev && d != 10*time.Second {
			t.Fatalf("attempt %d: delay %v did not grow from %v", i, d, prev)
		}
		prev = d
		th.fail(attacker, "bob@example.org")
	}
	if d := th.delay(attacker, "bob@example.org"); d != 10*time.Second {
		t.Errorf("delay capped at %v, want 10s", d)
	}
	// The same attacker trying another account is slowed too (per-IP counter)…
	if d := th.delay(attacker, "carol@example.org"); d == 0 {
		t.Error("attacker not slowed on a second account")
	}
	// …but the real user from their own address is not.
	if d := th.delay(user, "bob@example.org"); d != 0 {
		t.Errorf("real user delayed %v from another address", d)
	}
	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	if d := th.delay(attacker, "bob@example.org"); d != 0 {
		t.Errorf("failures not forgotten after the window: %v", d)
	}
}

func TestAuthenticateWaitsWhenThrottled(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("198.51.100.8")
	for i := 0; i < 5; i++ {
		d.Authenticate(ctx, "bob@example.org", "wrong", "imap", ip)
	}
	// Throttled now: a caller whose context ends while waiting gets the context error,
	// proving the wait happens before the password is even checked.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := d.Authenticate(cctx, "bob@example.org", "s3cret", "imap", ip); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("throttled attempt: %v, want deadline exceeded", err)
	}
	// From another address the right password works at once.
	if _, err := d.Authenticate(ctx, "bob@example.org", "s3cret", "imap", netip.MustParseAddr("203.0.113.1")); err != nil {
		t.Errorf("real user locked out: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "bob@example.org", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "bob@example.org", "old", "imap", loop); err == nil {
		t.Error("old password still works")
	}
	if _, err := d.Authenticate(ctx, "bob@example.org", "new", "imap", loop); err != nil {
		t.Errorf("new password: %v", err)
	}
}

// TestConcurrentChecksAreBounded: a burst of logins runs at most cap(hashing) argon2id
// checks at once (each holds 19 MiB), whatever the number of callers.
func TestConcurrentChecksAreBounded(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running, peak := 0, 0
	d.check = func(hash, secret string) bool {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		ok := VerifyPassword(hash, secret)
		mu.Lock()
		running--
		mu.Unlock()
		return ok
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ip := netip.AddrFrom4([4]byte{10, 0, byte(i), 1})
			if _, err := d.Authenticate(ctx, "bob@example.org", "s3cret", "imap", ip); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if peak == 0 || peak > cap(d.hashing) {
		t.Errorf("peak concurrent checks %d, bound %d", peak, cap(d.hashing))
	}
	t.Logf("peak %d of %d", peak, cap(d.hashing))
}

// TestAuthCache: verified credentials skip argon2id for a while; a wrong password, an
// expired entry and a changed password do not.
func TestAuthCache(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	if _, _, err := d.CreateUser(ctx, NewUser{Email: "bob@example.org", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	d.opts.Now = func() time.Time { return now }
	checks := 0
	d.check = func(hash, secret string) bool { checks++; return VerifyPassword(hash, secret) }
	ip := netip.MustParseAddr("127.0.0.1")
	auth := func(pw string) error { _, err := d.Authenticate(ctx, "bob@example.org", pw, "eas", ip); return err }
	if err := auth("s3cret"); err != nil || checks != 1 {
		t.Fatalf("first login: %v, %d checks", err, checks)
	}
	if err := auth("s3cret"); err != nil || checks != 1 {
		t.Fatalf("second login: %v, %d checks (want a cache hit)", err, checks)
	}
	if err := auth("wrong"); err == nil || checks != 2 {
		t.Fatalf("wrong password: %v, %d checks", err, checks)
	}
	now = now.Add(6 * time.Minute)
	if err := auth("s3cret"); err != nil || checks != 3 {
		t.Fatalf("after expiry: %v, %d checks (want a real check)", err, checks)
	}
	if err := d.SetPassword(ctx, "bob@example.org", "n3w"); err != nil {
		t.Fatal(err)
	}
	if err := auth("s3cret"); err == nil {
		t.Fatal("old password accepted from the cache after a password change")
	}
}
