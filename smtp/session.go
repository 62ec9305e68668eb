package smtp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// session is one connection's state (go-smtp makes a new one after STARTTLS). go-smtp
// calls its methods one at a time.
type session struct {
	s        *Server
	conn     *gosmtp.Conn
	ctx      context.Context
	log      *slog.Logger
	cid      string
	ip       netip.Addr
	tls      bool
	loopback bool
	acct     *store.Account // after AUTH

	// the envelope of the current transaction
	from    string
	hasFrom bool
	local   []store.Recipient
	localID map[int64]bool
	rcpts   []string // accepted recipients, as given (for the log and Received)
	remote  []string
	remSeen map[string]bool
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	if s.ctx.Err() != nil {
		return nil, errShuttingDown
	}
	_, isTLS := c.TLSConnectionState()
	ip := remoteIP(c.Conn())
	cid := fmt.Sprintf("%s%x", s.idPre, s.cid.Add(1))
	sess := &session{
		s: s, conn: c, ctx: s.ctx, cid: cid, ip: ip, tls: isTLS, loopback: ip.IsLoopback() && !s.noLoopbackTrust,
		log: s.log.With("cid", cid, "remote", ip.String()),
	}
	sess.log.Debug("session", "helo", c.Hostname(), "tls", isTLS)
	return sess, nil
}

// authAllowed: plain-text passwords only over TLS or from loopback, unless configured
// otherwise (DESIGN.md §4).
func (se *session) authAllowed() bool {
	return se.tls || se.loopback || se.s.opts.AllowPlaintextWithoutTLS
}

// AuthMechanisms implements gosmtp.AuthSession; none are offered where AUTH is not
// allowed, so the EHLO reply does not advertise AUTH (RFC 4954 4).
func (se *session) AuthMechanisms() []string {
	if !se.authAllowed() || se.s.opts.Directory == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements gosmtp.AuthSession: PLAIN (RFC 4616) and LOGIN.
func (se *session) Auth(mech string) (sasl.Server, error) {
	if !se.authAllowed() || se.s.opts.Directory == nil {
		return nil, errEncryptionRequired
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			// No proxy authorization: the authorization identity, if any, must be the user.
			if identity != "" && identity != user {
				return errAuthFailed
			}
			return se.login(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{auth: se.login}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (se *session) login(user, pass string) error {
	acct, err := se.s.opts.Directory.Authenticate(se.ctx, user, pass, "smtp", se.ip)
	if err != nil {
		if se.ctx.Err() != nil {
			return errShuttingDown
		}
		se.log.Info("authentication failed", "user", user, "err", err)
		return errAuthFailed
	}
	se.acct = &acct
	se.log = se.log.With("user", acct.Email)
	se.log.Info("authenticated")
	return nil
}

// Reset implements gosmtp.Session: RSET, or the end of a transaction.
func (se *session) Reset() {
	se.from, se.hasFrom = "", false
	se.local, se.localID, se.rcpts, se.remote, se.remSeen = nil, nil, nil, nil, nil
}

// Logout implements gosmtp.Session.
func (se *session) Logout() error { return nil }

// Mail implements gosmtp.Session (RFC 5321 4.1.1.2).
func (se *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if se.s.opts.Mode == Submission && se.acct == nil {
		return errAuthRequired
	}
	if from != "" {
		if _, _, err := parseMailbox(from); err != nil {
			return errBadSenderSyntax
		}
	}
	// RFC 1870 6: go-smtp refuses a declared SIZE above the limit with 552 before we
	// are called; this repeats the check so it holds whatever the library does.
	if max := se.s.opts.MaxMessageSize; max > 0 && opts != nil && opts.Size > max {
		return errTooLarge
	}
	if se.acct != nil {
		// RFC 6409 6.1: the submission server may check the sender is the user's own.
		if from == "" {
			return errNotYourAddress
		}
		id, err := se.s.opts.Store.ResolveAddress(se.ctx, from)
		if errors.Is(err, store.ErrNotFound) || (err == nil && id != se.acct.ID) {
			se.log.Info("sender refused", "from", from)
			return errNotYourAddress
		}
		if err != nil {
			se.log.Error("resolve sender", "err", err)
			return replyFor(err)
		}
	}
	se.Reset()
	se.from, se.hasFrom = from, true
	return nil
}

// Rcpt implements gosmtp.Session (RFC 5321 4.1.1.3). Hosted recipients must exist;
// anything else is relaying and needs an authenticated session.
func (se *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	local, domain, err := parseMailbox(to)
	if err != nil {
		se.log.Info("recipient refused", "to", to, "reason", "syntax")
		if se.acct == nil {
			return errRelayDenied
		}
		return errBadRcptSyntax
	}
	addr := local + "@" + domain
	hosted, err := se.hosted(domain)
	if err != nil {
		se.log.Error("domain lookup", "err", err)
		return replyFor(err)
	}
	if !hosted {
		if se.acct == nil {
			se.log.Info("recipient refused", "to", to, "reason", "relay")
			return errRelayDenied
		}
		se.addRemote(addr)
		se.rcpts = append(se.rcpts, addr)
		return nil
	}
	id, err := se.s.opts.Store.ResolveAddress(se.ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		// Not an account or alias: perhaps a distribution group (groups.go).
		if isGroup, err := se.rcptGroup(addr); isGroup {
			return err
		}
	}
	if errors.Is(err, store.ErrNotFound) && strings.EqualFold(local, "postmaster") && se.s.opts.Postmaster != "" {
		id, err = se.s.opts.Store.ResolveAddress(se.ctx, se.s.opts.Postmaster)
	}
	if errors.Is(err, store.ErrNotFound) {
		se.log.Info("recipient refused", "to", to, "reason", "unknown")
		return errNoSuchUser
	}
	if err != nil {
		se.log.Error("resolve recipient", "err", err)
		return replyFor(err)
	}
	a, err := se.s.opts.Store.Account(se.ctx, id)
	if err != nil {
		se.log.Error("read recipient account", "err", err)
		return replyFor(err)
	}
	if a.Disabled {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 2, 1}, Message: "Mailbox disabled"}
	}
	// Refuse a full mailbox now rather than fail the whole message at DATA.
	if a.QuotaBytes > 0 && a.UsageBytes >= a.QuotaBytes {
		return errMailboxFull
	}
	se.addLocal(id)
	se.rcpts = append(se.rcpts, addr)
	return nil
}

func (se *session) hosted(domain string) (bool, error) {
	_, err := se.s.opts.Store.DomainByName(se.ctx, domain)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Data implements gosmtp.Session for DATA and BDAT (RFC 3030): the message is read
// whole, its trace headers are added, and it is stored in one durable mutation before
// go-smtp answers 250.
func (se *session) Data(r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			se.log.Error("panic in DATA", "panic", p, "stack", string(debug.Stack()))
			err = errLocal
		}
	}()
	raw, err := io.ReadAll(r)
	if err != nil {
		var se2 *gosmtp.SMTPError
		if errors.As(err, &se2) {
			return se2
		}
		return err
	}
	if !se.hasFrom || len(se.rcpts) == 0 {
		return &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	}
	he := headerEnd(raw)
	fs := fields(raw[:he])
	body := raw[he:]
	// RFC 5321 6.3: a message that has passed this many relays is looping.
	hops := 0
	for _, f := range fs {
		if strings.EqualFold(f.name, "Received") {
			hops++
		}
	}
	if hops >= maxHops {
		se.log.Warn("mail loop", "from", se.from, "hops", hops)
		return errLoop
	}

	var pre strings.Builder
	pre.WriteString(se.received())
	if se.acct == nil && se.s.opts.Mode == MX {
		var dropped bool
		if fs, dropped = withoutForgedAuthResults(fs, se.s.opts.Hostname); dropped {
			se.log.Info("removed forged Authentication-Results")
		}
		if se.s.opts.CheckAuth {
			// Bounded, so a slow DNS cannot hold the client past its DATA timeout.
			actx, cancel := context.WithTimeout(se.ctx, 30*time.Second)
			v := checkAuth(actx, se.s.opts.Resolver, se.s.opts.Hostname, se.ip, se.conn.Hostname(), se.from, raw[:he], raw)
			cancel()
			if v.dmarcReject && se.s.opts.RejectDMARC {
				se.log.Info("rejected by DMARC policy", "from", se.from)
				return errDMARCReject
			}
			pre.WriteString(v.header)
		}
	}
	if se.acct != nil {
		// RFC 6409 8.2, 8.3: complete a submitted message's Date and Message-ID.
		if !hasField(fs, "Date") {
			pre.WriteString("Date: " + se.s.opts.Now().Format(time.RFC1123Z) + "\r\n")
		}
		if !hasField(fs, "Message-ID") {
			pre.WriteString("Message-ID: " + newMessageID(se.s.opts.Hostname) + "\r\n")
		}
	}
	var msg strings.Builder
	msg.Grow(pre.Len() + len(raw) + 64)
	msg.WriteString(pre.String())
	for _, f := range fs {
		msg.Write(f.raw)
	}
	msg.Write(body)
	relayed := []byte(msg.String())

	var out *store.Outbound
	if len(se.remote) > 0 {
		out = &store.Outbound{From: se.from, Recipients: se.remote}
		if se.acct != nil { // nil: external members of a group reached through the MX
			out.AccountID = se.acct.ID
		}
	}
	stored := relayed
	if len(se.local) > 0 {
		// RFC 5321 4.4: the final delivery adds Return-Path; the relayed copy has none.
		stored = append([]byte("Return-Path: <"+se.from+">\r\n"), relayed...)
		if out != nil {
			out.Raw = relayed
		}
	}
	// 250 only once Accept's commit is durable (it follows the blob's fsyncs).
	ds, qid, err := se.s.opts.Store.Accept(se.ctx, stored, se.local, out)
	if err != nil {
		se.log.Error("store message", "err", err, "from", se.from, "rcpts", len(se.rcpts))
		return replyFor(err)
	}
	se.log.Info("accepted", "from", se.from, "local", len(ds), "remote", len(se.remote), "queue_id", qid, "size", len(stored))
	if qid != 0 && se.s.opts.Queue != nil {
		se.s.opts.Queue.Kick()
	}
	return nil
}

// maxHops is the Received count at which a message is taken to be looping (Postfix's
// hopcount_limit is 50 too).
const maxHops = 50

// received formats the trace field (RFC 5321 4.4) with the protocol keywords of
// RFC 3848.
func (se *session) received() string {
	proto := "ESMTP"
	if se.tls {
		proto += "S"
	}
	if se.acct != nil {
		proto += "A"
	}
	client := "localhost" // no connection: a message handed to Server.Submit inside Gatehouse
	if se.conn != nil {
		client = fmt.Sprintf("%s ([%s])", cleanHelo(se.conn.Hostname()), se.ip)
	}
	v := fmt.Sprintf("from %s by %s (Gatehouse) with %s id %s", client, se.s.opts.Hostname, proto, se.cid)
	if len(se.rcpts) == 1 {
		v += " for <" + se.rcpts[0] + ">"
	}
	v += "; " + se.s.opts.Now().Format(time.RFC1123Z)
	return foldHeader("Received", v)
}

// cleanHelo keeps a HELO argument printable for a header.
func cleanHelo(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r > ' ' && r < 127 && r != '(' && r != ')' && r != ';' {
			b.WriteRune(r)
		}
		if b.Len() >= 255 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

func newMessageID(host string) string {
	var b [16]byte
	rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + host + ">"
}

// loginServer is the LOGIN SASL mechanism (draft-murchison-sasl-login), which go-sasl
// offers only as a client; Outlook and older clients still use it.
type loginServer struct {
	auth  func(user, pass string) error
	user  string
	state int
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.state {
	case 0:
		l.state = 1
		if len(resp) > 0 { // initial response: the user name
			l.user = string(resp)
			l.state = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.state = 2
		return []byte("Password:"), false, nil
	case 2:
		l.state = 3
		return nil, true, l.auth(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected response")
}
