package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// bounce removes the failed recipients and, in the same mutation, stores a delivery
// status notification (RFC 3464) for the sender: in their Inbox when the sender is
// local, queued with the null sender otherwise. Never to the null sender.
func (q *Queue) bounce(ctx context.Context, log *slog.Logger, j *job, raw []byte, failed []outcome) {
	ids := make([]int64, len(failed))
	for i, o := range failed {
		ids[i] = o.entry.ID
		log.Info("failed", "rcpt", o.entry.Rcpt, "err", o.err)
	}
	if j.from == "" {
		// RFC 5321 6.1: a bounce is never bounced.
		log.Warn("undeliverable bounce dropped", "rcpts", len(failed))
		if err := q.opts.Store.QueueDone(ctx, ids, nil); err != nil {
			log.Error("record failure", "err", err)
		}
		return
	}
	b := &store.Bounce{Raw: q.dsn(j, raw, failed)}
	local, err := q.localSender(ctx, j.from)
	switch {
	case err != nil:
		log.Error("resolve bounce recipient", "err", err)
		return // retried on the next pass
	case local != 0:
		// RFC 5321 4.4: final delivery records the (null) return path.
		b.Raw = append([]byte("Return-Path: <>\r\n"), b.Raw...)
		b.Local = []store.Recipient{{Principal: store.Principal{AccountID: local}}}
	case q.hostedDomain(ctx, domainOf(j.from)):
		// A hosted domain without that address: nobody to tell.
		log.Warn("bounce to unknown local sender dropped", "from", j.from)
		b = nil
	default:
		b.Out = &store.Outbound{From: "", Recipients: []string{j.from}}
	}
	err = q.opts.Store.QueueDone(ctx, ids, b)
	if err != nil && b != nil && b.Local != nil {
		// The sender's mailbox refuses it (over quota, deleted meanwhile): record the
		// failure anyway rather than retry a recipient that will never succeed.
		log.Warn("bounce not storable, dropped", "from", j.from, "err", err)
		err = q.opts.Store.QueueDone(ctx, ids, nil)
	}
	if err != nil {
		log.Error("record failure", "err", err)
		return
	}
	if b != nil && b.Out != nil {
		q.Kick()
	}
}

func (q *Queue) localSender(ctx context.Context, from string) (int64, error) {
	id, err := q.opts.Store.ResolveAddress(ctx, from)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return id, err
}

func (q *Queue) hostedDomain(ctx context.Context, d string) bool {
	_, err := q.opts.Store.DomainByName(ctx, d)
	return err == nil
}

// dsn builds the multipart/report (RFC 6522) with a message/delivery-status part
// (RFC 3464) and the original header (text/rfc822-headers).
func (q *Queue) dsn(j *job, raw []byte, failed []outcome) []byte {
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "gatehouse-" + hex.EncodeToString(rnd[:])
	now := q.opts.Now()
	host := q.opts.Hostname
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host)
	w("To: <%s>\r\n", j.from)
	w("Subject: Undelivered Mail Returned to Sender\r\n")
	w("Date: %s\r\n", now.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>\r\n", hex.EncodeToString(rnd[:]), host)
	w("Auto-Submitted: auto-replied\r\n") // RFC 3834 5
	w("MIME-Version: 1.0\r\n")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	w("This is a MIME-encapsulated message.\r\n\r\n--%s\r\n", boundary)
	w("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	w("This is the mail system at %s.\r\n\r\nYour message could not be delivered to the following recipients:\r\n\r\n", host)
	for _, o := range failed {
		var se *gosmtp.SMTPError
		if errors.As(o.err, &se) {
			w("<%s>: host %s said: %s\r\n", o.entry.Rcpt, o.remote, replyText(se))
		} else {
			w("<%s>: %s\r\n", o.entry.Rcpt, oneLine(o.err))
		}
	}
	w("\r\n--%s\r\n", boundary)
	w("Content-Type: message/delivery-status\r\n\r\n")
	w("Reporting-MTA: dns; %s\r\n", host)
	w("X-Gatehouse-Queue-ID: %d\r\n", j.msgID)
	w("Arrival-Date: %s\r\n", failed[0].entry.Created.Format(time.RFC1123Z))
	for _, o := range failed {
		w("\r\nFinal-Recipient: rfc822; %s\r\n", o.entry.Rcpt)
		w("Action: failed\r\n")
		w("Status: %s\r\n", statusOf(o.err))
		if o.remote != "" {
			w("Remote-MTA: dns; %s\r\n", o.remote)
		}
		var se *gosmtp.SMTPError
		if errors.As(o.err, &se) {
			w("Diagnostic-Code: smtp; %s\r\n", replyText(se))
		} else {
			w("Diagnostic-Code: X-Gatehouse; %s\r\n", oneLine(o.err))
		}
		w("Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	w("\r\n--%s\r\n", boundary)
	w("Content-Type: text/rfc822-headers\r\n\r\n")
	b.Write(raw[:headerLen(raw)])
	w("\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

// statusOf is the RFC 3463 status for the DSN: the remote's enhanced code if it gave
// one, else a class-appropriate default.
func statusOf(err error) string {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		if se.EnhancedCode != gosmtp.NoEnhancedCode && se.EnhancedCode != gosmtp.EnhancedCodeNotSet && se.EnhancedCode[0] == 5 {
			return fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		if se.Code >= 500 {
			return "5.0.0"
		}
		return "4.0.0"
	}
	var pe permError
	if errors.As(err, &pe) {
		return "5.1.2" // bad destination system
	}
	return "4.4.7" // delivery time expired
}

// replyText is the remote reply as it was on the wire: code, enhanced code, text.
func replyText(se *gosmtp.SMTPError) string {
	s := fmt.Sprint(se.Code)
	if c := se.EnhancedCode; c != gosmtp.NoEnhancedCode && c != gosmtp.EnhancedCodeNotSet {
		s += fmt.Sprintf(" %d.%d.%d", c[0], c[1], c[2])
	}
	return s + " " + strings.Join(strings.Fields(se.Message), " ")
}

func oneLine(err error) string {
	if err == nil {
		return "unknown error"
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// headerLen is the length of the header section without the empty line.
func headerLen(raw []byte) int {
	s := string(raw)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return i + 2
	}
	if i := strings.Index(s, "\n\n"); i >= 0 {
		return i + 1
	}
	return len(raw)
}
