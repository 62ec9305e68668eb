package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// dkimSign signs with the key of the envelope sender's domain when it is hosted here;
// submission has checked that the sender address belongs to the user, so one hosted
// domain's users cannot obtain another hosted domain's signature by writing its name
// in the From header. A DSN (null sender) goes unsigned.
func (q *Queue) dkimSign(ctx context.Context, log *slog.Logger, raw []byte, from string) []byte {
	domain := domainOf(from)
	if domain == "" {
		return raw
	}
	if _, err := q.opts.Store.DomainByName(ctx, domain); err != nil {
		return raw
	}
	ks, err := q.signerFor(ctx, domain)
	if err != nil {
		log.Error("dkim key", "domain", domain, "err", err)
		return raw
	}
	signed, err := ks.sign(raw)
	if err != nil {
		log.Warn("dkim sign", "domain", domain, "err", err)
		return raw
	}
	return signed
}

// signerFor returns the domain's parsed key, read from the store (and parsed) once per
// process: a key never changes under its selector.
func (q *Queue) signerFor(ctx context.Context, domain string) (*keySigner, error) {
	if v, ok := q.signers.Load(domain); ok {
		return v.(*keySigner), nil
	}
	k, err := EnsureDKIMKey(ctx, q.opts.Store, domain)
	if err != nil {
		return nil, err
	}
	signer, err := parseKey(k.PrivateKey)
	if err != nil {
		return nil, err
	}
	ks := &keySigner{domain: k.Domain, selector: k.Selector, signer: signer}
	q.signers.Store(domain, ks)
	return ks, nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
	}
	return ""
}

// errTLS is a failed STARTTLS handshake.
type errTLS struct{ error }

func (e errTLS) Error() string { return "TLS handshake: " + e.error.Error() }

// permError marks a failure that retrying cannot fix.
type permError struct{ error }

func (e permError) Unwrap() error { return e.error }

// hosts returns the hosts to try in order: the smarthost, or the domain's MX hosts by
// preference (RFC 5321 5.1), or the domain itself when it has no MX (implicit MX).
func (q *Queue) hosts(ctx context.Context, domain string) ([]string, error) {
	if q.opts.Smarthost != "" {
		return []string{q.opts.Smarthost}, nil
	}
	mxs, err := q.opts.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return []string{net.JoinHostPort(domain, strconv.Itoa(q.opts.Port))}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("MX lookup for %s: %w", domain, err)
	}
	if len(mxs) == 0 {
		return []string{net.JoinHostPort(domain, strconv.Itoa(q.opts.Port))}, nil
	}
	// RFC 7505: a null MX says the domain accepts no mail.
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, permError{fmt.Errorf("%s publishes a null MX: it accepts no mail", domain)}
	}
	// Sort a copy: the resolver (a cache, a test's fake) may hand the same slice to
	// concurrent deliveries.
	mxs = append([]*net.MX(nil), mxs...)
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	var out []string
	for _, mx := range mxs {
		out = append(out, net.JoinHostPort(strings.TrimSuffix(mx.Host, "."), strconv.Itoa(q.opts.Port)))
	}
	return out, nil
}

// attempt tries the hosts in order until one gives an SMTP answer for the recipients;
// a host that cannot be reached or fails before MAIL passes the job to the next.
func (q *Queue) attempt(ctx context.Context, log *slog.Logger, j *job, raw []byte) []outcome {
	fail := func(err error, perm bool, remote string) []outcome {
		outs := make([]outcome, len(j.rcpts))
		for i, r := range j.rcpts {
			outs[i] = outcome{entry: r, err: err, permanent: perm, remote: remote}
		}
		return outs
	}
	hosts, err := q.hosts(ctx, j.domain)
	if err != nil {
		var pe permError
		return fail(err, errors.As(err, &pe), "")
	}
	lastErr := errors.New("no host to try")
	for _, hp := range hosts {
		host, port, _ := net.SplitHostPort(hp)
		addrs := []string{host}
		if net.ParseIP(host) == nil {
			ips, err := q.opts.Resolver.LookupIPAddr(ctx, host)
			if err != nil || len(ips) == 0 {
				lastErr = fmt.Errorf("resolve %s: %v", host, err)
				continue
			}
			addrs = addrs[:0]
			for _, ip := range ips {
				addrs = append(addrs, ip.IP.String())
			}
		}
		for _, a := range addrs {
			outs, err := q.session(ctx, host, net.JoinHostPort(a, port), j, raw)
			if err == nil {
				return outs
			}
			log.Info("host failed", "host", host, "addr", a, "err", err)
			lastErr = err
			if ctx.Err() != nil {
				return fail(ctx.Err(), false, host)
			}
		}
	}
	return fail(lastErr, false, "")
}

// dial connects and greets, with opportunistic STARTTLS (RFC 3207, RFC 7435: an
// unverified certificate still beats plain text). It returns a go-smtp client that
// has not said EHLO yet on the (possibly TLS) connection.
func (q *Queue) dial(ctx context.Context, host, addr string, tryTLS bool) (*gosmtp.Client, func() bool, error) {
	d := net.Dialer{Timeout: q.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(q.opts.SessionTimeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*gosmtp.Client, func() bool, error) {
		stop()
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	tp := textproto.NewConn(struct {
		io.Reader
		io.WriteCloser
	}{br, conn})
	greeting := ""
	if _, msg, err := tp.ReadResponse(220); err != nil {
		return fail(err)
	} else {
		greeting = strings.SplitN(msg, "\n", 2)[0]
	}
	var next net.Conn = &prefixConn{Conn: conn, r: br}
	if tryTLS {
		id, err := tp.Cmd("EHLO %s", q.opts.Hostname)
		if err != nil {
			return fail(err)
		}
		tp.StartResponse(id)
		_, msg, err := tp.ReadResponse(250)
		tp.EndResponse(id)
		if err != nil {
			return fail(err)
		}
		if hasExtension(msg, "STARTTLS") {
			if _, err := tp.Cmd("STARTTLS"); err != nil {
				return fail(err)
			}
			if _, _, err := tp.ReadResponse(220); err != nil {
				return fail(err)
			}
			tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(ctx); err != nil {
				return fail(errTLS{err})
			}
			next = tc
		}
	}
	// go-smtp's client expects a greeting: replay the one we read.
	c := gosmtp.NewClient(&prefixConn{Conn: next, r: io.MultiReader(strings.NewReader("220 "+greeting+"\r\n"), readerOf(next))})
	c.CommandTimeout = q.opts.SessionTimeout
	c.SubmissionTimeout = q.opts.SessionTimeout
	return c, stop, nil
}

func readerOf(c net.Conn) io.Reader {
	if p, ok := c.(*prefixConn); ok {
		return p.r
	}
	return c
}

// prefixConn reads through r (buffered or replayed bytes) and writes to the conn.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func hasExtension(ehlo, ext string) bool {
	for _, l := range strings.Split(ehlo, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.EqualFold(f[0], ext) {
			return true
		}
	}
	return false
}

// session runs one SMTP transaction for the job's recipients against one address.
// An error means "try the next host"; otherwise every recipient has an outcome.
func (q *Queue) session(ctx context.Context, host, addr string, j *job, raw []byte) ([]outcome, error) {
	c, stop, err := q.dial(ctx, host, addr, true)
	var te errTLS
	if errors.As(err, &te) {
		// RFC 7435: fall back to plain text rather than not deliver.
		c, stop, err = q.dial(ctx, host, addr, false)
	}
	if err != nil {
		return nil, err
	}
	defer stop()
	defer c.Close()
	if err := c.Hello(q.opts.Hostname); err != nil {
		return nil, err
	}
	if q.opts.Smarthost != "" && q.opts.SmarthostUser != "" {
		if err := c.Auth(sasl.NewPlainClient("", q.opts.SmarthostUser, q.opts.SmarthostPassword)); err != nil {
			return nil, fmt.Errorf("smarthost AUTH: %w", err)
		}
	}
	opts := &gosmtp.MailOptions{Size: int64(len(raw))}
	if ok, _ := c.Extension("8BITMIME"); ok && !isASCII(raw) {
		opts.Body = gosmtp.Body8BitMIME
	}
	// RFC 6531 3.4: internationalized addresses need SMTPUTF8 end to end.
	if !isASCII([]byte(j.from)) || !allASCII(j.rcpts) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			outs := make([]outcome, len(j.rcpts))
			for i, r := range j.rcpts {
				outs[i] = outcome{entry: r, permanent: true, remote: host,
					err: &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 6, 7}, Message: "remote server does not support SMTPUTF8"}}
			}
			return outs, nil
		}
		opts.UTF8 = true
	}
	if err := c.Mail(j.from, opts); err != nil {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			// The server refuses the sender: every recipient fails the same way.
			outs := make([]outcome, len(j.rcpts))
			for i, r := range j.rcpts {
				outs[i] = outcome{entry: r, err: err, permanent: true, remote: host}
			}
			return outs, nil
		}
		return nil, err
	}
	outs := make([]outcome, len(j.rcpts))
	var accepted []int
	for i, r := range j.rcpts {
		outs[i] = outcome{entry: r, remote: host}
		if err := c.Rcpt(r.Rcpt, nil); err != nil {
			var se *gosmtp.SMTPError
			outs[i].err = err
			outs[i].permanent = errors.As(err, &se) && se.Code >= 500
			if !errors.As(err, &se) {
				return nil, err // the connection broke: next host
			}
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		c.Quit()
		return outs, nil
	}
	w, err := c.Data()
	if err == nil {
		_, err = w.Write(raw)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	var se *gosmtp.SMTPError
	for _, i := range accepted {
		switch {
		case err == nil:
			outs[i].delivered = true
		case errors.As(err, &se):
			outs[i].err, outs[i].permanent = err, se.Code >= 500
		default:
			// No reply to the end of data: the remote may or may not have it; retry
			// (RFC 5321 6.1 prefers a duplicate to a loss).
			outs[i].err = err
		}
	}
	c.Quit()
	return outs, nil
}

func allASCII(es []store.QueueEntry) bool {
	for _, e := range es {
		if !isASCII([]byte(e.Rcpt)) {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
