package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// Mode says which service a listener offers.
type Mode int

const (
	// MX is the inbound service (port 25): hosted recipients only; other destinations
	// only from an authenticated session.
	MX Mode = iota
	// Submission (587 with STARTTLS, 465 with implicit TLS, RFC 6409): AUTH required
	// before MAIL.
	Submission
)

func (m Mode) String() string {
	if m == Submission {
		return "submission"
	}
	return "mx"
}

// DefaultMaxMessageSize is the SIZE limit when none is configured.
const DefaultMaxMessageSize = 50 << 20

// Notifier is told when remote recipients were queued (smtp/queue's Queue).
type Notifier interface{ Kick() }

// Options configure a Server.
type Options struct {
	Store     *store.Store
	Directory *directory.Directory
	TLS       *tls.Config // nil: no STARTTLS
	Logger    *slog.Logger
	// Hostname is the HELO/greeting name and the authserv-id of Authentication-Results.
	Hostname string
	// MaxMessageSize drives SIZE (RFC 1870) and bounds what DATA/BDAT read into
	// memory; 0 means DefaultMaxMessageSize (never unbounded).
	MaxMessageSize int64
	// MaxRecipients per message (default 100, RFC 5321 4.5.3.1.8's minimum).
	MaxRecipients int
	// AllowPlaintextWithoutTLS allows AUTH without TLS from non-loopback clients.
	AllowPlaintextWithoutTLS bool
	Mode                     Mode

	// Resolver serves the inbound SPF/DKIM/DMARC checks (MX mode); nil: the system
	// resolver. Set CheckAuth false to skip them (submission never checks).
	Resolver  Resolver
	CheckAuth bool
	// RejectDMARC refuses (550 5.7.1) mail failing DMARC whose domain publishes
	// p=reject. Default off: the result is only recorded.
	RejectDMARC bool
	// Postmaster receives mail for postmaster@ any hosted domain that has no such
	// account or alias (RFC 5321 4.5.1 requires postmaster to work); "": none.
	Postmaster string
	// Queue is kicked after remote recipients were queued; nil: the queue finds them on
	// its next scan.
	Queue Notifier
	// MaxConnectionsPerIP bounds concurrent connections from one address (default
	// 50, as Postfix's smtpd_client_connection_count_limit); more get 421 4.7.0.
	MaxConnectionsPerIP int
	// ReadTimeout and WriteTimeout bound each command (default 5 minutes, RFC 5321
	// 4.5.3.2.7 server timeout).
	ReadTimeout, WriteTimeout time.Duration
	Now                       func() time.Time
}

// Server is one SMTP listener's service.
type Server struct {
	opts   Options
	log    *slog.Logger
	gs     *gosmtp.Server
	ctx    context.Context
	cancel context.CancelFunc
	cid    atomic.Uint64
	idPre  string // makes session ids unique across restarts

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	perIP map[netip.Addr]int

	// noLoopbackTrust makes tests over 127.0.0.1 see the client as remote.
	noLoopbackTrust bool
}

// New makes a Server; call Serve with a listener.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 100
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.MaxConnectionsPerIP <= 0 {
		opts.MaxConnectionsPerIP = 50
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, conns: map[net.Conn]struct{}{}, perIP: map[netip.Addr]int{}, idPre: fmt.Sprintf("%08x", rand.Uint32())}
	s.log = opts.Logger.With("proto", "smtp", "mode", opts.Mode.String())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	gs := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	gs.Domain = opts.Hostname
	gs.TLSConfig = opts.TLS
	gs.MaxMessageBytes = opts.MaxMessageSize
	gs.MaxRecipients = opts.MaxRecipients
	// We decide ourselves where AUTH is allowed (TLS or loopback, see authAllowed).
	gs.AllowInsecureAuth = true
	gs.EnableSMTPUTF8 = true
	gs.ReadTimeout = opts.ReadTimeout
	gs.WriteTimeout = opts.WriteTimeout
	gs.ErrorLog = slogPrinter{s.log}
	s.gs = gs
	return s
}

// Serve accepts connections until Shutdown or Close. For the submissions port pass a
// tls.NewListener; its connections are served with Options.TLS.
func (s *Server) Serve(ln net.Listener) error {
	err := s.gs.Serve(trackingListener{Listener: ln, s: s})
	if errors.Is(err, gosmtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown is phase 1: stop accepting and wait for sessions to end, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.gs.Shutdown(ctx)
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close is phase 2: close every connection and cancel what sessions still do. A
// message whose DATA was cut short was never answered 250, so the client keeps it.
func (s *Server) Close() error {
	err := s.gs.Close()
	s.cancel()
	// After Shutdown, go-smtp's Close no longer closes connections: do it ourselves.
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

// trackingListener records live connections for Close.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		raw, isTLS := c, false
		if t, ok := c.(*tls.Conn); ok {
			raw, isTLS = t.NetConn(), true
		}
		tc := l.s.track(raw)
		if tc == nil {
			// Over the per-address limit: refuse before TLS and before go-smtp.
			raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(raw, "421 4.7.0 Too many connections from your address\r\n")
			raw.Close()
			continue
		}
		if isTLS {
			// An implicit-TLS listener (tls.NewListener) hands over a connection whose
			// handshake has not started: redo the TLS layer over the tracked transport
			// with Options.TLS, so go-smtp still sees a *tls.Conn.
			if l.s.opts.TLS == nil {
				tc.Close()
				continue
			}
			return tls.Server(tc, l.s.opts.TLS), nil
		}
		return tc, nil
	}
}

// track registers a connection, or returns nil when its address is over the limit.
func (s *Server) track(c net.Conn) net.Conn {
	ip := remoteIP(c)
	tc := &trackedConn{Conn: c, s: s, ip: ip}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip] >= s.opts.MaxConnectionsPerIP {
		return nil
	}
	s.perIP[ip]++
	s.conns[tc] = struct{}{}
	return tc
}

type trackedConn struct {
	net.Conn
	s    *Server
	ip   netip.Addr
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		if c.s.perIP[c.ip]--; c.s.perIP[c.ip] <= 0 {
			delete(c.s.perIP, c.ip)
		}
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// slogPrinter adapts go-smtp's logger (connection errors, recovered panics).
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) { p.log.Warn(fmt.Sprintf(format, v...)) }
func (p slogPrinter) Println(v ...any)               { p.log.Warn(fmt.Sprint(v...)) }

// remoteIP returns the client's address.
func remoteIP(c net.Conn) netip.Addr {
	if c == nil {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
