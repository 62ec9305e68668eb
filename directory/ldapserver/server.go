package ldapserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
)

// Extended operations (RFC 4511 4.14, RFC 4532) and the unsolicited notice (4.4.1).
const (
	oidStartTLS     = "1.3.6.1.4.1.1466.20037"
	oidWhoAmI       = "1.3.6.1.4.1.4203.1.11.3"
	oidNoticeOfDisc = "1.3.6.1.4.1.1466.20036"
)

const (
	idleTimeout     = 30 * time.Minute
	writeTimeout    = 60 * time.Second
	maxSearchTime   = 60 * time.Second // a cap on every search, whatever timeLimit says
	maxOutstanding  = 8                // concurrent searches per connection
	maxPagedSearchs = 8                // paged searches a connection may keep open
)

// Options configure the server.
type Options struct {
	Directory *directory.Directory
	GAL       *directory.GAL
	// TLS enables StartTLS on plain listeners (for ldaps the caller wraps the listener).
	TLS    *tls.Config
	Logger *slog.Logger
	// AllowAnonymous lets unauthenticated clients search the GAL (default: only the
	// Root DSE and the subschema are readable without a bind).
	AllowAnonymous bool
	// AllowPlaintextWithoutTLS allows simple binds over unencrypted non-loopback
	// connections.
	AllowPlaintextWithoutTLS bool
}

// Server is the LDAP front end.
type Server struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup

	cid atomic.Uint64

	treeMu sync.Mutex
	tree   atomic.Pointer[tree]
}

// New makes a server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts: opts, log: opts.Logger.With("proto", "ldap"), ctx: ctx, cancel: cancel,
		listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{},
	}
}

// Serve accepts connections until Shutdown or Close. For ldaps pass a tls.NewListener.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		c := s.newConn(nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) stopAccepting() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// Shutdown stops accepting, lets running operations finish and closes the connections
// with a Notice of Disconnection (unavailable); when ctx ends first it closes them hard.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.stopAccepting() {
		c.drain()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.cancel()
	for _, c := range s.stopAccepting() {
		c.nc.Close()
	}
	return nil
}

// currentTree returns the LDAP view of the GAL's current snapshot, building it once.
func (s *Server) currentTree(ctx context.Context) (*tree, error) {
	select {
	case <-s.opts.GAL.Ready():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	snap := s.opts.GAL.Snapshot()
	if t := s.tree.Load(); t != nil && t.snap == snap {
		return t, nil
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	snap = s.opts.GAL.Snapshot()
	if t := s.tree.Load(); t != nil && t.snap == snap {
		return t, nil
	}
	t := buildTree(snap)
	s.tree.Store(t)
	return t, nil
}

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	log    *slog.Logger
	remote netip.Addr
	r      *bufio.Reader

	wmu sync.Mutex
	w   *bufio.Writer

	mu       sync.Mutex
	tls      bool
	user     string // the bound account's address, "" if anonymous
	account  int64  // the bound account's id, 0 if anonymous
	userDN   string
	anon     bool // an anonymous bind was accepted (AllowAnonymous)
	ops      map[int64]context.CancelFunc
	opsWG    sync.WaitGroup
	paged    map[string]*pageState
	draining bool
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, ops: map[int64]context.CancelFunc{}, paged: map[string]*pageState{}}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.remote = ap.Addr().Unmap()
	}
	_, c.tls = nc.(*tls.Conn)
	c.log = s.log.With("cid", s.cid.Add(1), "remote", c.remote)
	c.r = bufio.NewReaderSize(nc, 4096)
	c.w = bufio.NewWriterSize(nc, 16384)
	return c
}

// drain asks an idle connection to end: its read wakes up and it says goodbye.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	c.nc.SetReadDeadline(time.Now())
}

func (c *conn) serve() {
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in LDAP connection", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	defer c.cancelAll()
	c.log.Debug("connected", "tls", c.tls)
	for {
		c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
		frame, err := readFrame(c.r)
		if err != nil {
			c.mu.Lock()
			draining := c.draining
			c.mu.Unlock()
			switch {
			case draining:
				c.opsWG.Wait()
				c.notice(ldap.LDAPResultUnavailable, "server shutting down")
			case errors.Is(err, errProtocol):
				c.log.Info("bad request", "err", err)
				c.notice(ldap.LDAPResultProtocolError, "malformed request")
			case errors.Is(err, io.EOF):
				c.log.Debug("disconnected")
			default:
				c.log.Debug("read failed", "err", err)
			}
			c.opsWG.Wait()
			return
		}
		req, err := DecodeRequest(frame)
		if err != nil {
			c.log.Info("bad request", "err", err)
			c.opsWG.Wait()
			c.notice(ldap.LDAPResultProtocolError, "malformed request")
			return
		}
		if !c.handle(req) {
			c.opsWG.Wait()
			return
		}
	}
}

func (c *conn) cancelAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cancel := range c.ops {
		cancel()
	}
}

// handle runs one request; false ends the connection.
func (c *conn) handle(req *Request) bool {
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("request", "id", req.ID, "op", ldap.ApplicationMap[uint8(req.Op)])
	}
	// Controls we do not implement: a critical one fails the operation (RFC 4511 4.1.11).
	for _, ctl := range req.Controls {
		if ctl.Critical && ctl.OID != ldap.ControlTypePaging && ctl.OID != oidSortRequest && req.Op != ldap.ApplicationAbandonRequest && req.Op != ldap.ApplicationUnbindRequest {
			c.result(req, ldap.LDAPResultUnavailableCriticalExtension, "", "unsupported critical control "+ctl.OID)
			return true
		}
	}
	switch req.Op {
	case ldap.ApplicationUnbindRequest:
		c.log.Debug("unbind")
		return false
	case ldap.ApplicationAbandonRequest: // RFC 4511 4.11: no response
		c.mu.Lock()
		if cancel, ok := c.ops[req.AbandonID]; ok {
			cancel()
		}
		c.mu.Unlock()
	case ldap.ApplicationBindRequest:
		c.opsWG.Wait() // RFC 4511 4.2.1: outstanding operations complete first
		c.bind(req)
	case ldap.ApplicationSearchRequest:
		ctx, cancel := context.WithCancel(c.s.ctx)
		c.mu.Lock()
		if _, dup := c.ops[req.ID]; dup {
			c.mu.Unlock()
			cancel()
			c.result(req, ldap.LDAPResultProtocolError, "", "message ID in use")
			return true
		}
		c.ops[req.ID] = cancel
		c.mu.Unlock()
		c.opsWG.Add(1)
		go func() {
			defer c.opsWG.Done()
			defer func() {
				if r := recover(); r != nil {
					c.log.Error("panic in LDAP search", "panic", r, "stack", string(debug.Stack()))
					c.nc.Close()
				}
				c.mu.Lock()
				delete(c.ops, req.ID)
				c.mu.Unlock()
				cancel()
			}()
			c.search(ctx, req)
		}()
		c.limitOutstanding()
	case ldap.ApplicationExtendedRequest:
		return c.extended(req)
	case ldap.ApplicationCompareRequest:
		c.compare(req)
	default: // writes: the directory is read-only over LDAP
		c.result(req, ldap.LDAPResultUnwillingToPerform, "", "the directory is read-only over LDAP")
	}
	return true
}

// limitOutstanding waits while the connection runs maxOutstanding searches, so that a
// client pipelining requests is slowed down rather than served with unbounded goroutines.
func (c *conn) limitOutstanding() {
	for {
		c.mu.Lock()
		n := len(c.ops)
		c.mu.Unlock()
		if n < maxOutstanding {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// responseTag is the response operation for a request (RFC 4511 4.2 to 4.12).
func responseTag(op ber.Tag) ber.Tag {
	switch op {
	case ldap.ApplicationBindRequest:
		return ldap.ApplicationBindResponse
	case ldap.ApplicationSearchRequest:
		return ldap.ApplicationSearchResultDone
	case ldap.ApplicationModifyRequest:
		return ldap.ApplicationModifyResponse
	case ldap.ApplicationAddRequest:
		return ldap.ApplicationAddResponse
	case ldap.ApplicationDelRequest:
		return ldap.ApplicationDelResponse
	case ldap.ApplicationModifyDNRequest:
		return ldap.ApplicationModifyDNResponse
	case ldap.ApplicationCompareRequest:
		return ldap.ApplicationCompareResponse
	}
	return ldap.ApplicationExtendedResponse
}

func envelope(id int64, op *ber.Packet, controls ...*ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, c := range controls {
			cs.AppendChild(c)
		}
		p.AppendChild(cs)
	}
	return p
}

// ldapResult builds an LDAPResult-shaped operation (RFC 4511 4.1.9).
func ldapResult(tag ber.Tag, code uint16, matched, msg string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matched, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, msg, ""))
	return op
}

func (c *conn) result(req *Request, code uint16, matched, msg string, controls ...*ber.Packet) {
	c.send(envelope(req.ID, ldapResult(responseTag(req.Op), code, matched, msg), controls...), true)
}

// send writes one message; flush pushes it (and any buffered entries) out.
func (c *conn) send(p *ber.Packet, flush bool) error {
	return c.sendBytes(p.Bytes(), flush)
}

// sendBytes writes one encoded message; flush as for send.
func (c *conn) sendBytes(b []byte, flush bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	if flush {
		return c.w.Flush()
	}
	return nil
}

// notice sends a Notice of Disconnection (RFC 4511 4.4.1) before the server closes.
func (c *conn) notice(code uint16, msg string) {
	op := ldapResult(ldap.ApplicationExtendedResponse, code, "", msg)
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidNoticeOfDisc, ""))
	c.send(envelope(0, op), true)
}

// errorResult maps an internal error to the wire in one place.
func (c *conn) errorResult(err error) (uint16, string) {
	switch {
	case errors.Is(err, directory.ErrAuthFailed):
		return ldap.LDAPResultInvalidCredentials, "invalid credentials"
	case errors.Is(err, context.DeadlineExceeded):
		return ldap.LDAPResultTimeLimitExceeded, "time limit exceeded"
	case errors.Is(err, context.Canceled):
		return ldap.LDAPResultCanceled, "operation abandoned"
	}
	c.log.Error("ldap operation failed", "err", err)
	return ldap.LDAPResultOther, "internal error"
}

func (c *conn) secure() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tls
}

// bind: simple authentication (RFC 4513 5.1) by DN (uid=bob,ou=people,dc=example,dc=org),
// by address or by bare user name.
func (c *conn) bind(req *Request) {
	b := req.Bind
	c.mu.Lock()
	c.user, c.userDN, c.anon, c.account = "", "", false, 0 // a bind, failed or not, first resets to anonymous
	clear(c.paged)
	c.mu.Unlock()
	if b.Version != 3 {
		c.result(req, ldap.LDAPResultProtocolError, "", "only LDAPv3 is supported")
		return
	}
	if !b.Simple {
		c.result(req, ldap.LDAPResultAuthMethodNotSupported, "", "only simple bind is supported")
		return
	}
	if b.Name == "" && b.Password == "" { // RFC 4513 5.1.1 anonymous
		if !c.s.opts.AllowAnonymous {
			c.result(req, ldap.LDAPResultInappropriateAuthentication, "", "anonymous bind not allowed")
			return
		}
		c.mu.Lock()
		c.anon = true
		c.mu.Unlock()
		c.result(req, ldap.LDAPResultSuccess, "", "")
		return
	}
	if b.Password == "" { // RFC 4513 5.1.2 unauthenticated bind
		c.result(req, ldap.LDAPResultUnwillingToPerform, "", "unauthenticated bind (DN with no password) not allowed")
		return
	}
	if !c.secure() && !c.s.opts.AllowPlaintextWithoutTLS && !c.remote.IsLoopback() {
		c.result(req, ldap.LDAPResultConfidentialityRequired, "", "use StartTLS or ldaps before sending a password")
		return
	}
	login := loginName(b.Name)
	acct, err := c.s.opts.Directory.Authenticate(c.s.ctx, login, b.Password, "ldap", c.remote)
	if err != nil {
		code, msg := c.errorResult(err)
		c.result(req, code, "", msg)
		return
	}
	local, domain, _ := strings.Cut(acct.Email, "@")
	dn := "uid=" + ldap.EscapeDN(local) + ",ou=people"
	for _, p := range strings.Split(domain, ".") {
		dn += ",dc=" + ldap.EscapeDN(p)
	}
	c.mu.Lock()
	c.user, c.userDN, c.account = acct.Email, dn, acct.ID
	c.log = c.log.With("user", acct.Email)
	c.mu.Unlock()
	c.result(req, ldap.LDAPResultSuccess, "", "")
}

// loginName turns a bind name into a directory login name: a DN whose RDN is uid=… and
// whose dc= components name the domain becomes uid@domain; a mail=… RDN its value; any
// other string (an address, a bare name, DOMAIN\user) is passed on as is.
func loginName(name string) string {
	if !strings.Contains(name, "=") {
		return name
	}
	d, err := ldap.ParseDN(name)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) != 1 {
		return name
	}
	first := d.RDNs[0].Attributes[0]
	switch canonAttr(first.Type) {
	case "mail":
		return first.Value
	case "uid", "cn":
	default:
		return name
	}
	var dcs []string
	for _, r := range d.RDNs[1:] {
		for _, a := range r.Attributes {
			if canonAttr(a.Type) == "dc" {
				dcs = append(dcs, a.Value)
			}
		}
	}
	if len(dcs) == 0 || strings.Contains(first.Value, "@") {
		return first.Value
	}
	return first.Value + "@" + strings.Join(dcs, ".")
}

func (c *conn) extended(req *Request) bool {
	e := req.Extended
	op := func(code uint16, msg string, name string, value []byte, hasValue bool) *ber.Packet {
		p := ldapResult(ldap.ApplicationExtendedResponse, code, "", msg)
		if name != "" {
			p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, name, ""))
		}
		if hasValue {
			p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 11, string(value), ""))
		}
		return p
	}
	switch e.Name {
	case oidWhoAmI: // RFC 4532
		c.mu.Lock()
		authz := ""
		if c.userDN != "" {
			authz = "dn:" + c.userDN
		}
		c.mu.Unlock()
		c.send(envelope(req.ID, op(ldap.LDAPResultSuccess, "", "", []byte(authz), true)), true)
	case oidStartTLS: // RFC 4511 4.14
		switch {
		case c.s.opts.TLS == nil:
			c.send(envelope(req.ID, op(ldap.LDAPResultUnavailable, "StartTLS is not configured", oidStartTLS, nil, false)), true)
			return true
		case c.secure():
			c.send(envelope(req.ID, op(ldap.LDAPResultOperationsError, "TLS already established", oidStartTLS, nil, false)), true)
			return true
		}
		c.opsWG.Wait()
		if c.r.Buffered() > 0 {
			c.send(envelope(req.ID, op(ldap.LDAPResultProtocolError, "data after StartTLS", oidStartTLS, nil, false)), true)
			return false
		}
		if err := c.send(envelope(req.ID, op(ldap.LDAPResultSuccess, "", oidStartTLS, nil, false)), true); err != nil {
			return false
		}
		tc := tls.Server(c.nc, c.s.opts.TLS)
		tc.SetDeadline(time.Now().Add(writeTimeout))
		if err := tc.HandshakeContext(c.s.ctx); err != nil {
			c.log.Info("StartTLS handshake failed", "err", err)
			return false
		}
		tc.SetDeadline(time.Time{})
		c.wmu.Lock()
		c.nc = tc
		c.r = bufio.NewReaderSize(tc, 4096)
		c.w = bufio.NewWriterSize(tc, 16384)
		c.wmu.Unlock()
		c.mu.Lock()
		c.tls = true
		c.mu.Unlock()
		c.log.Debug("StartTLS done")
	default: // RFC 4511 4.12: an unknown request name is protocolError
		c.send(envelope(req.ID, op(ldap.LDAPResultProtocolError, "unsupported extended operation", "", nil, false)), true)
	}
	return true
}

// mayRead says whether the connection may read the GAL (the Root DSE and the schema are
// always readable: clients discover StartTLS and naming contexts before binding).
func (c *conn) mayRead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user != "" || c.s.opts.AllowAnonymous
}

func (c *conn) compare(req *Request) {
	if !c.mayRead() {
		c.result(req, ldap.LDAPResultInsufficientAccessRights, "", "bind first")
		return
	}
	t, err := c.s.currentTree(c.s.ctx)
	if err != nil {
		code, msg := c.errorResult(err)
		c.result(req, code, "", msg)
		return
	}
	e, ok := t.byNDN[normDN(req.Compare.DN)]
	if !ok {
		c.result(req, ldap.LDAPResultNoSuchObject, "", "no such entry")
		return
	}
	if canonAttr(req.Compare.Attr) == "" {
		c.result(req, ldap.LDAPResultUndefinedAttributeType, "", "unknown attribute")
		return
	}
	f := &Filter{Op: FilterEquality, Attr: req.Compare.Attr, Value: req.Compare.Value}
	switch eval(f, e) {
	case triTrue:
		c.result(req, ldap.LDAPResultCompareTrue, "", "")
	case triFalse:
		c.result(req, ldap.LDAPResultCompareFalse, "", "")
	default:
		c.result(req, ldap.LDAPResultInappropriateMatching, "", "")
	}
}

// pageState is one paged search in progress (RFC 2696): the matching entries, fixed at
// the first page, and how many were sent.
type pageState struct {
	key     string
	entries []*entry
	next    int
}

func newCookie() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func pagedResponse(cookie string) *ber.Packet {
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	v.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, cookie, ""))
	ctl := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	ctl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldap.ControlTypePaging, ""))
	ctl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(v.Bytes()), ""))
	return ctl
}

func searchKey(s *SearchRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %d %d %t %q ", normDN(s.Base), s.Scope, s.SizeLimit, s.TypesOnly, s.Attributes)
	filterKey(&b, s.Filter)
	return b.String()
}
