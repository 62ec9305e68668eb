package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// SubmitReason says why Submit refused a message. Other front ends (ActiveSync) read it
// through the SubmitReason method of the error, without importing this package, and
// turn it into their own status codes.
type SubmitReason string

// Reasons Submit refuses a message for.
const (
	// ReasonSender: the From address is missing, malformed or not one of the account's
	// own addresses (RFC 6409 6.1; an SMTP client gets 553 5.7.1).
	ReasonSender SubmitReason = "sender"
	// ReasonNoRecipients: neither rcpts nor the To, Cc and Bcc fields name anyone.
	ReasonNoRecipients SubmitReason = "no-recipients"
	// ReasonTooManyRecipients: more recipients than Options.MaxRecipients.
	ReasonTooManyRecipients SubmitReason = "too-many-recipients"
	// ReasonRecipient: a recipient was refused (no such local user, a disabled
	// mailbox, bad syntax); SubmitError.Rcpt names it.
	ReasonRecipient SubmitReason = "recipient"
	// ReasonMailboxFull: a local recipient's mailbox is over its quota (temporary).
	ReasonMailboxFull SubmitReason = "mailbox-full"
	// ReasonTooLarge: the message exceeds Options.MaxMessageSize.
	ReasonTooLarge SubmitReason = "too-large"
	// ReasonTemporary: a local failure or shutdown; the same message may succeed later.
	ReasonTemporary SubmitReason = "temporary"
	// ReasonRejected: the content was refused for good (a mail loop, a malformed message).
	ReasonRejected SubmitReason = "rejected"
)

// SubmitError is a message Submit refused: why, and the reply an SMTP submission client
// would have got for it.
type SubmitError struct {
	Reason SubmitReason
	Rcpt   string // the refused recipient, for ReasonRecipient and ReasonMailboxFull
	Reply  *gosmtp.SMTPError
}

func (e *SubmitError) Error() string {
	msg := fmt.Sprintf("smtp: submission refused (%s): %d %d.%d.%d %s", e.Reason, e.Reply.Code,
		e.Reply.EnhancedCode[0], e.Reply.EnhancedCode[1], e.Reply.EnhancedCode[2], e.Reply.Message)
	if e.Rcpt != "" {
		msg += " <" + e.Rcpt + ">"
	}
	return msg
}

// SubmitReason returns the reason as a string, for callers that cannot import this
// package (front ends never import each other, DESIGN.md §1).
func (e *SubmitError) SubmitReason() string { return string(e.Reason) }

// Temporary reports whether the same message may be accepted later (a 4xx reply).
func (e *SubmitError) Temporary() bool { return e.Reply.Code/100 == 4 }

// Submit sends raw, a complete RFC 5322 message, as acct to rcpts, by the very path an
// authenticated submission session takes (session.Mail, Rcpt and Data): the From
// address must be one of acct's own, hosted recipients must exist and are delivered,
// others are queued, Date and Message-ID are completed and a Received field added, all
// in one durable store.Accept before Submit returns. With no rcpts the recipients are
// the message's To, Cc and Bcc addresses. A Bcc field is never sent on (RFC 5322
// 3.6.3). It implements activesync.Sender. Refusals are *SubmitError; anything else is
// a fault.
func (s *Server) Submit(ctx context.Context, acct store.Account, rcpts []string, raw []byte) error {
	if s.ctx.Err() != nil {
		return &SubmitError{Reason: ReasonTemporary, Reply: errShuttingDown}
	}
	he := headerEnd(raw)
	fs := fields(raw[:he])
	env := message.Parse(raw[:he]).Envelope

	cid := fmt.Sprintf("%s%x", s.idPre, s.cid.Add(1))
	se := &session{
		s: s, ctx: ctx, cid: cid, acct: &acct,
		// Submit is called only for an authenticated user of a front end that requires
		// TLS (or loopback), hence ESMTPSA in the trace field.
		tls: true,
		log: s.log.With("cid", cid, "via", "submit", "user", acct.Email),
	}

	// Every From address must be the user's own; the first is the envelope sender.
	// Mail resets the transaction, so the first address is given last.
	from := message.Mailboxes(env.From)
	if len(from) == 0 {
		se.log.Info("sender refused", "reason", "no From")
		return &SubmitError{Reason: ReasonSender, Reply: errNotYourAddress}
	}
	size := &gosmtp.MailOptions{Size: int64(len(raw))}
	for i := len(from) - 1; i >= 0; i-- {
		if err := se.Mail(from[i].Addr(), size); err != nil {
			return submitError(err, "")
		}
	}

	if len(rcpts) == 0 {
		for _, list := range [][]message.Address{env.To, env.Cc, env.Bcc} {
			for _, a := range message.Mailboxes(list) {
				rcpts = append(rcpts, a.Addr())
			}
		}
	}
	if len(rcpts) == 0 {
		return &SubmitError{Reason: ReasonNoRecipients, Reply: &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}}
	}
	// go-smtp enforces MaxRecipients per connection; there is no connection here.
	if len(rcpts) > s.opts.MaxRecipients {
		return &SubmitError{Reason: ReasonTooManyRecipients, Reply: &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 5, 3}, Message: "Too many recipients"}}
	}
	for _, r := range rcpts {
		if err := se.Rcpt(r, nil); err != nil {
			return submitError(err, r)
		}
	}

	if hasField(fs, "Bcc") {
		var b bytes.Buffer
		b.Grow(len(raw))
		for _, f := range fs {
			if !strings.EqualFold(f.name, "Bcc") {
				b.Write(f.raw)
			}
		}
		b.Write(raw[he:])
		raw = b.Bytes()
	}
	if err := se.Data(bytes.NewReader(raw)); err != nil {
		return submitError(err, "")
	}
	return nil
}

// submitError classifies a reply of the session's methods.
func submitError(err error, rcpt string) error {
	var reply *gosmtp.SMTPError
	if !errors.As(err, &reply) {
		return fmt.Errorf("smtp: submit: %w", err)
	}
	e := &SubmitError{Reply: reply, Rcpt: rcpt}
	switch reply {
	case errNotYourAddress, errBadSenderSyntax:
		e.Reason, e.Rcpt = ReasonSender, ""
	case errTooLarge:
		e.Reason = ReasonTooLarge
	case errMailboxFull:
		e.Reason = ReasonMailboxFull
	case errNoSuchUser, errBadRcptSyntax, errRelayDenied:
		e.Reason = ReasonRecipient
	default:
		switch {
		case reply.Code/100 == 4:
			e.Reason = ReasonTemporary
		case rcpt != "":
			e.Reason = ReasonRecipient // e.g. a disabled mailbox (550 5.2.1)
		default:
			e.Reason = ReasonRejected
		}
	}
	if e.Reason != ReasonRecipient && e.Reason != ReasonMailboxFull {
		e.Rcpt = ""
	}
	return e
}
