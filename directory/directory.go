// Package directory is Gatehouse's account directory: the one authentication path of
// every protocol (Authenticate), password hashing, login throttling, and the accounts'
// address-book attributes that LDAP and the Global Address List serve.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// ErrAuthFailed is the one answer for an unknown user, a wrong password and a disabled
// account alike, so that a client cannot probe which addresses exist.
var ErrAuthFailed = errors.New("authentication failed")

// Options configure a Directory.
type Options struct {
	// DefaultDomain completes a bare user name ("bob" → bob@DefaultDomain).
	DefaultDomain string
	// ThrottleAfter failures from one IP (or for one account from one IP) start delays,
	// doubling up to ThrottleMaxDelay; failures older than ThrottleWindow are forgotten.
	ThrottleAfter    int
	ThrottleMaxDelay time.Duration
	ThrottleWindow   time.Duration
	Logger           *slog.Logger
	Now              func() time.Time
	// AuthCacheTTL is how long verified credentials are remembered (see authCache);
	// zero: 5 minutes, negative: no cache.
	AuthCacheTTL time.Duration
}

// Directory authenticates users and manages accounts over the store.
type Directory struct {
	st       *store.Store
	opts     Options
	log      *slog.Logger
	throttle *throttle
	// hashing bounds concurrent argon2id checks: each takes 19 MiB, so a burst of
	// logins (or of failed attempts by someone not logged in) must queue rather than
	// grow memory with the number of connections.
	hashing chan struct{}
	// check is VerifyPassword; tests observe it.
	check func(hash, secret string) bool
	cache *authCache
}

// New makes a Directory.
func New(st *store.Store, opts Options) *Directory {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ttl := opts.AuthCacheTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	return &Directory{
		st:       st,
		opts:     opts,
		log:      opts.Logger.With("sub", "directory"),
		throttle: newThrottle(opts.ThrottleAfter, opts.ThrottleMaxDelay, opts.ThrottleWindow, opts.Now),
		hashing:  make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		check:    VerifyPassword,
		cache:    newAuthCache(ttl, 100_000),
	}
}

// verify checks a password against a hash, at most cap(d.hashing) at a time.
func (d *Directory) verify(ctx context.Context, hash, secret string) (bool, error) {
	select {
	case d.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-d.hashing }()
	return d.check(hash, secret), nil
}

// Authenticate checks a user name and secret for a protocol ("imap", "smtp", "eas",
// "ldap", …) from a remote address. User names may be a full address, an alias,
// DOMAIN\user or a bare user name. Failed attempts are throttled with growing delays
// (the wait honours ctx). Every failure is ErrAuthFailed.
func (d *Directory) Authenticate(ctx context.Context, user, secret, protocol string, remoteIP netip.Addr) (store.Account, error) {
	remoteIP = remoteIP.Unmap()
	key := strings.ToLower(strings.TrimSpace(user))
	if wait := d.throttle.delay(remoteIP, key); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return store.Account{}, ctx.Err()
		}
	}
	acct, err := d.ResolveLogin(ctx, user)
	hash := acct.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash()
	}
	now := d.now()
	var match bool
	if err == nil && acct.PasswordHash != "" && d.cache.hit(key, secret, acct.PasswordHash, now) {
		match = true
	} else {
		var verr error
		if match, verr = d.verify(ctx, hash, secret); verr != nil {
			return store.Account{}, verr
		}
		if match && err == nil && acct.PasswordHash != "" {
			d.cache.add(key, secret, acct.PasswordHash, now)
		}
	}
	ok := match && err == nil && acct.PasswordHash != "" && !acct.Disabled
	if !ok {
		d.throttle.fail(remoteIP, key)
		reason := "bad password"
		switch {
		case errors.Is(err, store.ErrNotFound):
			reason = "unknown user"
		case err != nil:
			reason = err.Error()
		case acct.Disabled:
			reason = "disabled"
		}
		d.log.Info("login failed", "proto", protocol, "user", user, "remote", remoteIP, "reason", reason)
		if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() != nil {
			return store.Account{}, ctx.Err()
		}
		return store.Account{}, ErrAuthFailed
	}
	d.throttle.succeed(remoteIP, key)
	d.log.Debug("login", "proto", protocol, "user", acct.Email, "remote", remoteIP)
	return acct, nil
}

// ResolveLogin finds the account a login name designates: address or alias
// (case-insensitive), DOMAIN\user (the NetBIOS-style form phones send: DOMAIN is a
// hosted domain or its first label), or a bare user name in the default domain.
func (d *Directory) ResolveLogin(ctx context.Context, user string) (store.Account, error) {
	user = strings.TrimSpace(user)
	if dom, local, ok := strings.Cut(user, `\`); ok {
		domain, err := d.domainFor(ctx, dom)
		if err != nil {
			return store.Account{}, err
		}
		user = local + "@" + domain
	} else if !strings.Contains(user, "@") {
		if d.opts.DefaultDomain == "" {
			return store.Account{}, store.ErrNotFound
		}
		user = user + "@" + d.opts.DefaultDomain
	}
	id, err := d.st.ResolveAddress(ctx, user)
	if err != nil {
		return store.Account{}, err
	}
	return d.st.Account(ctx, id)
}

func (d *Directory) domainFor(ctx context.Context, name string) (string, error) {
	name = store.NormalizeDomain(name)
	if strings.Contains(name, ".") {
		return name, nil
	}
	domains, err := d.st.Domains(ctx)
	if err != nil {
		return "", err
	}
	for _, dm := range domains {
		first, _, _ := strings.Cut(dm.Name, ".")
		if first == name {
			return dm.Name, nil
		}
	}
	if d.opts.DefaultDomain != "" {
		return d.opts.DefaultDomain, nil
	}
	return "", store.ErrNotFound
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Email    string
	Password string
	store.Attributes
}

// CreateUser creates an account with a hashed password, hosting its domain first if
// needed (as `gatehouse user add` promises), and returns it with whether the domain was new.
func (d *Directory) CreateUser(ctx context.Context, u NewUser) (acct store.Account, newDomain bool, err error) {
	_, domain, err := store.SplitAddress(u.Email)
	if err != nil {
		return acct, false, err
	}
	if u.Password == "" {
		return acct, false, fmt.Errorf("%w: empty password", store.ErrInvalid)
	}
	hash, err := HashPassword(u.Password)
	if err != nil {
		return acct, false, err
	}
	if _, err := d.st.DomainByName(ctx, domain); errors.Is(err, store.ErrNotFound) {
		if _, err := d.st.AddDomain(ctx, domain); err != nil && !errors.Is(err, store.ErrExists) {
			return acct, false, err
		}
		newDomain = true
	} else if err != nil {
		return acct, false, err
	}
	acct, err = d.st.CreateAccount(ctx, store.NewAccount{Email: u.Email, PasswordHash: hash, Attributes: u.Attributes})
	return acct, newDomain, err
}

// SetPassword replaces a user's password.
func (d *Directory) SetPassword(ctx context.Context, email, password string) error {
	if password == "" {
		return fmt.Errorf("%w: empty password", store.ErrInvalid)
	}
	acct, err := d.st.AccountByEmail(ctx, email)
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return d.st.SetPasswordHash(ctx, acct.ID, hash)
}
