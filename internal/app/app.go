// Package app wires Gatehouse together: the store, the directory, TLS, the control
// socket and every front end's listener, and takes them down again in order
// (two-phase shutdown, store last).
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/activesync"
	"github.com/gatehouse/gatehouse/autodiscover"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/directory/ldapserver"
	"github.com/gatehouse/gatehouse/imap"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/dnscache"
	"github.com/gatehouse/gatehouse/smtp"
	"github.com/gatehouse/gatehouse/smtp/queue"
	"github.com/gatehouse/gatehouse/store"
)

// Server is a front end serving one listener.
type Server interface {
	Serve(ln net.Listener) error
	// Shutdown is phase one: stop accepting, wake long polls (IDLE, Ping, hanging
	// Sync) and wait for sessions to end until ctx is done.
	Shutdown(ctx context.Context) error
	// Close is phase two: drop whatever is still running.
	Close() error
}

// App is a running Gatehouse.
type App struct {
	Cfg    *config.Config
	Log    *slog.Logger
	Store  *store.Store
	Dir    *directory.Directory
	Admin  *admin.Service
	Queue  *queue.Queue   // outbound delivery
	GAL    *directory.GAL // the address book in memory, kept by the change feed
	EAS    *activesync.Handler
	TLS    *tls.Config
	Router chi.Router // served on the http and https listeners; ActiveSync and Autodiscover mount here

	// AdminPassword is set when this start created the first administrator.
	AdminEmail, AdminPassword string

	baseCtx   context.Context
	cancel    context.CancelFunc
	control   *admin.ControlServer
	mu        sync.Mutex
	resolver  *dnscache.Resolver
	running   []running
	bgDone    chan struct{}
	queueDone chan struct{}
	galDone   chan struct{}
}

type running struct {
	name string
	srv  Server
	ln   net.Listener
	done chan error
}

// New opens the store and prepares every subsystem; nothing listens yet.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	st, err := store.Open(ctx, store.Options{
		Dir:            cfg.DataDir,
		Readers:        cfg.Store.ReaderConnections,
		BlobGrace:      time.Duration(cfg.Store.BlobGracePeriod),
		MaxMessageSize: int64(cfg.Limits.MaxMessageSize),
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log, Store: st, bgDone: make(chan struct{}), queueDone: make(chan struct{}), galDone: make(chan struct{})}
	a.Dir = directory.New(st, directory.Options{
		DefaultDomain:    cfg.DefaultDomain(),
		ThrottleAfter:    cfg.Auth.ThrottleAfterFailures,
		ThrottleMaxDelay: time.Duration(cfg.Auth.ThrottleMaxDelay),
		ThrottleWindow:   time.Duration(cfg.Auth.ThrottleWindow),
		Logger:           log,
	})
	a.resolver = resolver(cfg.SMTP.DNSServer)
	a.Queue = queue.New(queue.Options{
		Store:             st,
		Resolver:          a.resolver,
		Logger:            log,
		Hostname:          cfg.Hostname,
		Port:              cfg.Queue.Port,
		Smarthost:         cfg.Queue.Smarthost,
		SmarthostUser:     cfg.Queue.SmarthostUser,
		SmarthostPassword: cfg.Queue.SmarthostPassword,
		Expire:            time.Duration(cfg.Queue.Lifetime),
		RetryBase:         time.Duration(cfg.Queue.RetryBase),
		RetryMax:          time.Duration(cfg.Queue.RetryMax),
		Concurrency:       cfg.Queue.Concurrency,
	})
	a.Admin = admin.NewService(st, a.Dir, a.Queue.Kick)
	a.GAL = directory.NewGAL(st, log)
	cert, created, err := loadOrCreateCert(cfg.DataDir, cfg.TLS.Cert, cfg.TLS.Key, cfg.Hostname)
	if err != nil {
		st.Close()
		return nil, err
	}
	if created {
		log.Info("created a self-signed certificate", "host", cfg.Hostname, "dir", "tls/")
	}
	a.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if err := a.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}
	a.Router = chi.NewRouter()
	a.Router.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	as := cfg.ActiveSync
	a.EAS = activesync.New(activesync.Options{
		Store:                    st,
		Directory:                a.Dir,
		Logger:                   log,
		Hostname:                 cfg.Hostname,
		AllowPlaintextWithoutTLS: cfg.Auth.AllowPlaintextWithoutTLS,
		MaxRequestSize:           int64(cfg.Limits.MaxMessageSize),
		MaxRecipients:            cfg.Limits.MaxRecipients,
		HeartbeatMin:             time.Duration(as.HeartbeatMin),
		HeartbeatMax:             time.Duration(as.HeartbeatMax),
		MaxPingFolders:           as.MaxPingFolders,
		Policy: activesync.Policy{
			DevicePasswordEnabled:              as.RequirePassword,
			MinDevicePasswordLength:            as.MinPasswordLength,
			MaxDevicePasswordFailedAttempts:    as.MaxPasswordFailures,
			AlphanumericDevicePasswordRequired: as.RequireAlphanumericPassword,
			MaxInactivityTimeDeviceLock:        time.Duration(as.LockAfter),
			RequireDeviceEncryption:            as.RequireEncryption,
		},
		// Mail sent from a phone takes the submission listener's path (never served
		// itself: only its Submit is used).
		Sender: a.smtpServer(smtp.Submission).(*smtp.Server),
		GAL:    a.GAL,
	})
	activesync.Routes(a.Router, a.EAS)
	autodiscover.Routes(a.Router, autodiscover.New(autodiscover.Options{
		Directory:                a.Dir,
		Hostname:                 cfg.Hostname,
		Logger:                   log,
		AllowPlaintextWithoutTLS: cfg.Auth.AllowPlaintextWithoutTLS,
	}))
	return a, nil
}

// bootstrap creates admin@<domain> with a random password on first start with an
// empty store.
func (a *App) bootstrap(ctx context.Context) error {
	accts, err := a.Store.Accounts(ctx)
	if err != nil {
		return err
	}
	if len(accts) > 0 {
		return nil
	}
	email := "admin@" + a.Cfg.DefaultDomain()
	pw := admin.RandomPassword()
	if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: email, Password: pw,
		Attributes: store.Attributes{DisplayName: "Administrator"}}); err != nil {
		return fmt.Errorf("create first administrator: %w", err)
	}
	a.AdminEmail, a.AdminPassword = email, pw
	a.Log.Info("created the first administrator", "user", email)
	return nil
}

// Start binds every configured listener that has a front end, and the control socket.
func (a *App) Start() error {
	a.baseCtx, a.cancel = context.WithCancel(context.Background())
	// Background services first: Shutdown waits for each of them, whatever fails below.
	go a.maintenance()
	go a.returnMemory()
	go func() {
		defer close(a.queueDone)
		if err := a.Queue.Run(a.baseCtx); err != nil && a.baseCtx.Err() == nil {
			a.Log.Error("outbound queue stopped", "err", err)
		}
	}()
	go func() {
		defer close(a.galDone)
		if err := a.GAL.Run(a.baseCtx); err != nil {
			a.Log.Error("address book stopped", "err", err)
		}
	}()
	var err error
	if a.control, err = admin.ListenControl(a.Cfg.DataDir, a.Admin, a.Log); err != nil {
		return err
	}
	go a.control.Serve(a.baseCtx)

	l := a.Cfg.Listen
	httpSrv := func() Server {
		return &http.Server{
			Handler: a.Router,
			// No WriteTimeout: it would cut parked Pings and hanging Syncs (DESIGN.md §3);
			// handlers set their own deadlines with http.ResponseController.
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			BaseContext:       func(net.Listener) context.Context { return a.baseCtx },
			ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelDebug),
		}
	}
	listeners := []struct {
		name, addr string
		tls        bool
		srv        func() Server
	}{
		{"http", l.HTTP, false, httpSrv},
		{"https", l.HTTPS, true, httpSrv},
		{"imap", l.IMAP, false, a.imapServer},
		{"imaps", l.IMAPS, true, a.imapServer},
		{"smtp", l.SMTP, false, func() Server { return a.smtpServer(smtp.MX) }},
		{"submission", l.Submission, false, func() Server { return a.smtpServer(smtp.Submission) }},
		{"submissions", l.Submissions, true, func() Server { return a.smtpServer(smtp.Submission) }},
		{"ldap", l.LDAP, false, a.ldapServer},
		{"ldaps", l.LDAPS, true, a.ldapServer},
		{"debug", l.Debug, false, debugServer},
	}
	for _, spec := range listeners {
		if spec.addr == "" {
			continue
		}
		if spec.srv == nil {
			a.Log.Debug("listener configured, front end not built yet", "listener", spec.name, "addr", spec.addr)
			continue
		}
		ln, err := net.Listen("tcp", spec.addr)
		if err != nil {
			a.shutdownListeners(context.Background())
			return fmt.Errorf("listen %s on %s: %w", spec.name, spec.addr, err)
		}
		if spec.tls {
			ln = tls.NewListener(ln, a.TLS)
		}
		r := running{name: spec.name, srv: spec.srv(), ln: ln, done: make(chan error, 1)}
		go func() { r.done <- r.srv.Serve(r.ln) }()
		a.mu.Lock()
		a.running = append(a.running, r)
		a.mu.Unlock()
		a.Log.Info("listening", "listener", spec.name, "addr", ln.Addr().String())
	}
	return nil
}

func (a *App) imapServer() Server {
	return imap.New(imap.Options{
		Store:                    a.Store,
		Directory:                a.Dir,
		TLS:                      a.TLS,
		Logger:                   a.Log,
		MaxMessageSize:           int64(a.Cfg.Limits.MaxMessageSize),
		AllowPlaintextWithoutTLS: a.Cfg.Auth.AllowPlaintextWithoutTLS,
		Hostname:                 a.Cfg.Hostname,
		EnvelopeCacheBytes:       envelopeCacheBytes(a.Cfg.IMAP.EnvelopeCache),
	})
}

// envelopeCacheBytes maps the configured size to imap.Options, where 0 is the default
// and a negative size turns the cache off.
func envelopeCacheBytes(s config.Size) int64 {
	if s == 0 {
		return -1
	}
	return int64(s)
}

func (a *App) ldapServer() Server {
	return ldapserver.New(ldapserver.Options{
		Directory:                a.Dir,
		GAL:                      a.GAL,
		TLS:                      a.TLS,
		Logger:                   a.Log,
		AllowAnonymous:           a.Cfg.LDAP.AllowAnonymous,
		AllowPlaintextWithoutTLS: a.Cfg.Auth.AllowPlaintextWithoutTLS,
	})
}

func (a *App) smtpServer(mode smtp.Mode) Server {
	return smtp.New(smtp.Options{
		Store:                    a.Store,
		Directory:                a.Dir,
		TLS:                      a.TLS,
		Logger:                   a.Log,
		Hostname:                 a.Cfg.Hostname,
		MaxMessageSize:           int64(a.Cfg.Limits.MaxMessageSize),
		MaxRecipients:            a.Cfg.Limits.MaxRecipients,
		AllowPlaintextWithoutTLS: a.Cfg.Auth.AllowPlaintextWithoutTLS,
		Mode:                     mode,
		CheckAuth:                mode == smtp.MX,
		Resolver:                 a.resolver,
		RejectDMARC:              a.Cfg.SMTP.RejectDMARC,
		Postmaster:               a.Cfg.SMTP.Postmaster,
		MaxConnectionsPerIP:      a.Cfg.SMTP.MaxConnectionsPerIP,
		Queue:                    a.Queue,
	})
}

// resolver is the DNS resolver of the SMTP checks and the queue: the system's, or one
// that asks the configured server (smtp.dns_server), behind a small cache.
func resolver(server string) *dnscache.Resolver {
	up := net.DefaultResolver
	if server != "" {
		up = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return dnscache.New(up, 5*time.Minute, time.Minute)
}

// Addr returns the bound address of a listener ("" if it is not running).
func (a *App) Addr(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.running {
		if r.name == name {
			return r.ln.Addr().String()
		}
	}
	return ""
}

// maintenance collects unreferenced blobs and prunes old tombstones soon after start and
// then every few hours (housekeeping, not push: nothing here wakes a client).
// returnMemory hands memory the Go runtime holds but no longer uses back to the system
// once a minute. A burst (thousands of phones reconnecting and parking their Pings at
// once, a large IMAP FETCH) leaves the heap with much free memory that the runtime
// would otherwise keep until a collection, and an idle server with parked Pings
// allocates too little to start one. The cost is one collection a minute.
func (a *App) returnMemory() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-a.baseCtx.Done():
			return
		case <-t.C:
			debug.FreeOSMemory()
		}
	}
}

func (a *App) maintenance() {
	defer close(a.bgDone)
	// Mail stored before the full-text index existed is indexed in small batches.
	for a.baseCtx.Err() == nil {
		n, err := a.Store.IndexBacklog(a.baseCtx, 200)
		if err != nil {
			if a.baseCtx.Err() == nil {
				a.Log.Error("full-text index backlog", "err", err)
			}
			break
		}
		if n == 0 {
			break
		}
	}
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-a.baseCtx.Done():
			return
		case <-t.C:
		}
		if _, err := a.Store.CollectBlobs(a.baseCtx); err != nil && a.baseCtx.Err() == nil {
			a.Log.Error("blob collection", "err", err)
		}
		cutoff := time.Now().Add(-time.Duration(a.Cfg.Store.PruneTombstonesAfter))
		if _, err := a.Store.PruneTombstonesBefore(a.baseCtx, cutoff); err != nil && a.baseCtx.Err() == nil {
			a.Log.Error("tombstone pruning", "err", err)
		}
		t.Reset(6 * time.Hour)
	}
}

// Shutdown stops Gatehouse in two phases: listeners stop accepting and sessions are
// asked to finish (long polls woken) within the grace period; then everything left is
// cancelled and closed; the store closes last.
func (a *App) Shutdown(ctx context.Context) error {
	grace := time.Duration(a.Cfg.ShutdownGrace)
	gctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if a.EAS != nil {
		// Parked Pings and hanging Syncs answer now instead of holding the listeners.
		a.EAS.WakeAll()
	}
	a.shutdownListeners(gctx)
	var errs []error
	if a.cancel != nil {
		// Deliveries in flight record their outcome before Run returns.
		a.cancel()
		<-a.bgDone
		<-a.queueDone
		<-a.galDone
	}
	if a.control != nil {
		errs = append(errs, a.control.Close())
	}
	errs = append(errs, a.Store.Close())
	return errors.Join(errs...)
}

func (a *App) shutdownListeners(gctx context.Context) {
	a.mu.Lock()
	rs := a.running
	a.running = nil
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.srv.Shutdown(gctx); err != nil {
				a.Log.Warn("grace period over, closing", "listener", r.name, "err", err)
			}
			r.srv.Close()
			if err := <-r.done; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				a.Log.Error("listener stopped", "listener", r.name, "err", err)
			}
		}()
	}
	wg.Wait()
}

// Run starts Gatehouse and serves until ctx is cancelled (SIGINT/SIGTERM), then shuts
// down. ready, if not nil, is called once every listener is bound.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(*App)) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	if ready != nil {
		ready(a)
	}
	<-ctx.Done()
	a.Log.Info("shutting down")
	return a.Shutdown(context.Background())
}
