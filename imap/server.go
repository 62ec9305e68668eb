package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// Options configure the IMAP front end.
type Options struct {
	Store     *store.Store
	Directory *directory.Directory
	// TLS, when set, offers STARTTLS on plain listeners. For imaps the caller passes a
	// tls.NewListener made with this same config to Serve (each connection is rebuilt
	// with it over a corked raw connection, see Server.corked).
	TLS    *tls.Config
	Logger *slog.Logger
	// MaxMessageSize bounds APPEND (advertised as APPENDLIMIT, RFC 7889); 0: no limit
	// beyond the store's own.
	MaxMessageSize int64
	// AllowPlaintextWithoutTLS accepts LOGIN and AUTHENTICATE PLAIN on connections that
	// are neither TLS nor from loopback.
	AllowPlaintextWithoutTLS bool
	Hostname                 string
	// EnvelopeCacheBytes bounds the memory of the envelope cache (envcache.go), shared
	// by all mailboxes of the server: 0 is 64 MiB, negative turns the cache off.
	EnvelopeCacheBytes int64
	// LibraryFetchWriter has the library's FetchResponseWriter write the FETCH answers
	// served from the mailbox view too, instead of appendViewFetch (tests compare the
	// two).
	LibraryFetchWriter bool
}

// Server is the IMAP front end. One Server may serve several listeners.
type Server struct {
	opts Options
	log  *slog.Logger

	// Two library servers share the work: connections that may send a password in the
	// clear (loopback, or AllowPlaintextWithoutTLS) go to lax, the others to strict,
	// whose InsecureAuth is off (LOGINDISABLED until STARTTLS).
	strict, lax     *imapserver.Server
	strictLn, laxLn *chanListener
	libDone         chan struct{} // under mu; each library Serve loop reports its end

	baseCtx context.Context
	cancel  context.CancelFunc
	nextID  atomic.Uint64
	chunk   int // messages per store read in FETCH and SEARCH (tests make it small)

	// The envelope cache's budget (0: off), the bytes its entries take in all
	// mailboxes, the clock of mailbox.lastUse and the interned zones of envelope dates.
	cacheBudget int64
	cacheUsed   atomic.Int64
	cacheClock  atomic.Int64
	zones       sync.Map // offset in seconds -> *time.Location

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	mailboxes map[mailboxKey]*mailbox
	closing   bool
	shutdown  chan struct{} // closed by Shutdown: IDLE sessions say BYE
	idleEmpty chan struct{} // signalled when a session ends
}

// caps are what the backend supports; the library adds IDLE, UNSELECT, ENABLE, SASL-IR,
// LITERAL- and APPENDLIMIT=n (from session.AppendLimit) itself.
var caps = goimap.CapSet{
	goimap.CapIMAP4rev1:        {},
	goimap.CapIMAP4rev2:        {},
	goimap.CapNamespace:        {},
	goimap.CapUIDPlus:          {},
	goimap.CapESearch:          {},
	goimap.CapSearchRes:        {},
	goimap.CapListExtended:     {},
	goimap.CapListStatus:       {},
	goimap.CapMove:             {},
	goimap.CapStatusSize:       {},
	goimap.CapBinary:           {},
	goimap.CapChildren:         {},
	goimap.CapSpecialUse:       {},
	goimap.CapCreateSpecialUse: {},
	goimap.CapLiteralPlus:      {},
	goimap.CapUnauthenticate:   {},
	goimap.CapAppendLimit:      {},
}

// New makes an IMAP front end; nothing listens until Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("proto", "imap")
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:      opts,
		log:       log,
		baseCtx:   ctx,
		cancel:    cancel,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
		mailboxes: map[mailboxKey]*mailbox{},
		shutdown:  make(chan struct{}),
		chunk:     defaultChunk,
		idleEmpty: make(chan struct{}, 1),
		strictLn:  newChanListener(),
		laxLn:     newChanListener(),
	}
	mk := func(insecure bool) *imapserver.Server {
		return imapserver.New(&imapserver.Options{
			NewSession:   s.newSession,
			Caps:         caps,
			Logger:       libLogger{log},
			TLSConfig:    opts.TLS,
			InsecureAuth: insecure,
		})
	}
	s.strict, s.lax = mk(false), mk(true)
	switch b := opts.EnvelopeCacheBytes; {
	case b == 0:
		s.cacheBudget = defaultEnvelopeCache
	case b > 0:
		s.cacheBudget = b
	}
	return s
}

// Serve accepts connections on ln until Shutdown or Close. A plain listener offers
// STARTTLS when Options.TLS is set; pass a tls.NewListener for implicit TLS (imaps).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	if s.libDone == nil {
		done := make(chan struct{}, 2)
		s.libDone = done
		go func() { s.strict.Serve(s.strictLn); done <- struct{}{} }()
		go func() { s.lax.Serve(s.laxLn); done <- struct{}{} }()
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c = s.corked(c)
		if s.opts.AllowPlaintextWithoutTLS || isLoopback(c.RemoteAddr()) {
			s.laxLn.push(c)
		} else {
			s.strictLn.push(c)
		}
	}
}

// corked puts a corkConn under the library's connection. An implicit-TLS connection
// (not yet handshaken: tls.NewListener's Accept does not) is rebuilt over a corked raw
// connection with Options.TLS, so that one command's responses make few TLS records;
// without Options.TLS it is left as it is.
func (s *Server) corked(c net.Conn) net.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		if s.opts.TLS == nil {
			return c
		}
		return tls.Server(newCorkConn(tc.NetConn()), s.opts.TLS)
	}
	return newCorkConn(c)
}

// corkOf finds the corkConn under a library connection, or nil.
func corkOf(c net.Conn) *corkConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*corkConn)
	return cc
}

func isLoopback(a net.Addr) bool {
	ip := remoteIP(a)
	return ip.IsValid() && ip.IsLoopback()
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Shutdown is phase one: listeners stop accepting, IDLE sessions are woken and say BYE,
// sessions between commands get BYE, and Shutdown waits until every session has ended
// or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.shutdown)
		for ln := range s.listeners {
			ln.Close()
		}
	}
	s.mu.Unlock()
	s.strictLn.Close()
	s.laxLn.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		var quiet []*session
		n := len(s.sessions)
		for sess := range s.sessions {
			if sess.quiet() {
				quiet = append(quiet, sess)
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		for _, sess := range quiet {
			sess.bye("Gatehouse is shutting down")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.idleEmpty:
		case <-tick.C:
		}
	}
}

// Close is phase two: every connection still open is closed.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.shutdown)
		for ln := range s.listeners {
			ln.Close()
		}
	}
	libDone := s.libDone
	s.libDone = nil
	s.mu.Unlock()
	s.strictLn.Close()
	s.laxLn.Close()
	s.cancel()
	// Let the library's Serve loops end before its Close (which waits on a WaitGroup
	// that Serve adds to), then close every connection it holds.
	if libDone != nil {
		<-libDone
		<-libDone
	}
	s.strict.Close()
	s.lax.Close()
	return nil
}

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	id := "c" + strconv.FormatUint(s.nextID.Add(1), 10)
	nc := c.NetConn()
	sess := &session{
		srv:    s,
		conn:   c,
		cid:    id,
		remote: remoteIP(nc.RemoteAddr()),
		cork:   corkOf(nc),
		log:    s.log.With("cid", id),
	}
	sess.ctx, sess.cancel = context.WithCancel(store.WithOrigin(s.baseCtx, "imap/"+id))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		sess.cancel()
		return nil, nil, &goimap.Error{Type: goimap.StatusResponseTypeBye, Text: "Gatehouse is shutting down"}
	}
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	sess.log.Debug("connected", "remote", sess.remote)
	return sess, nil, nil
}

func (s *Server) sessionEnded(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	select {
	case s.idleEmpty <- struct{}{}:
	default:
	}
}

// chanListener hands connections accepted by Serve to a library server.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// libLogger sends the library's messages to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
