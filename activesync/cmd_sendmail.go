package activesync

import (
	"errors"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// SendMail ([MS-ASCMD] 2.2.1.17), SmartForward (2.2.1.19) and SmartReply (2.2.1.20): the
// message goes out through Options.Sender, the SMTP submission path, so that mail from
// a phone is checked, delivered and queued exactly like mail from a desktop client; a
// copy goes to Sent when asked (SaveInSentItems, or SaveInSent=T at 12.1), and the
// original of a reply or forward is marked \Answered or $Forwarded.

// ComposeMail status codes ([MS-ASCMD] 2.2.2 common status codes, which 2.2.3.177.14
// and 2.2.3.177.16 refer to).
const (
	composeInvalidXML          = 103 // the request does not follow the schema
	composeInvalidMIME         = 107 // the Mime is not a message
	composeServerError         = 110
	composeRetryLater          = 111 // ServerErrorRetryLater
	composeMailboxQuota        = 113 // MailboxQuotaExceeded: the user's own mailbox is full
	composeRecipientUnresolved = 116 // MessageRecipientUnresolved
	composeNoRecipient         = 119 // MessageHasNoRecipient
	composeSubmissionFailed    = 120 // MailSubmissionFailed
	composeTooLarge            = 122 // AttachmentIsTooLarge: the message exceeds the size limit
	composeItemNotFound        = 150 // ItemNotFound: the Source item does not exist for this user
	composePreviouslySent      = 118 // MessagePreviouslySent: this ClientId was sent already
)

func (h *Handler) cmdSendMail(rq *request) (*response, error) {
	return h.compose(rq, composeSend)
}

func (h *Handler) cmdSmartReply(rq *request) (*response, error) {
	return h.compose(rq, composeReply)
}

func (h *Handler) cmdSmartForward(rq *request) (*response, error) {
	return h.compose(rq, composeForward)
}

var errSourceNotFound = errors.New("activesync: source item not found")

func (h *Handler) compose(rq *request, kind composeKind) (*response, error) {
	cr, err := parseComposeRequest(rq.cmd, rq.body, rq.raw, rq.q)
	if err != nil {
		rq.log.Info("malformed compose request", "err", err)
		return composeFailure(rq, composeInvalidXML), nil
	}
	if h.opts.Sender == nil {
		rq.log.Error("no mail submission configured")
		return composeFailure(rq, composeServerError), nil
	}
	if !looksLikeMessage(cr.Mime) {
		rq.log.Info("Mime is not a message", "size", len(cr.Mime))
		return composeFailure(rq, composeInvalidMIME), nil
	}

	out := cr.Mime
	var orig store.Item
	var origParsed *message.Parsed
	if kind != composeSend {
		var origRaw []byte
		orig, origRaw, err = h.sourceMessage(rq, cr.Source)
		if errors.Is(err, errSourceNotFound) {
			rq.log.Info("compose source not found", "item", cr.Source.ItemID, "long", cr.Source.LongID)
			return composeFailure(rq, composeItemNotFound), nil
		}
		if err != nil {
			return nil, err
		}
		if !cr.ReplaceMime {
			out = mergeOriginal(kind, out, origRaw)
		}
		if kind == composeReply {
			origParsed = message.Parse(origRaw)
		}
	}
	from := mail.Address{Name: rq.acct.DisplayName, Address: rq.acct.Email}
	out = completeHeader(out, from, h.opts.Hostname, time.Now(), origParsed)

	// Exchange refuses to send from a mailbox over its quota (its prohibit-send quota);
	// with SaveInSentItems the copy must also fit.
	acct, err := h.st.Account(rq.ctx, rq.acct.ID)
	if err != nil {
		return nil, err
	}
	need := acct.UsageBytes
	if cr.SaveInSent {
		need += int64(len(out))
	}
	if acct.QuotaBytes > 0 && need >= acct.QuotaBytes {
		rq.log.Info("send refused: mailbox over quota", "usage", acct.UsageBytes, "quota", acct.QuotaBytes)
		return composeFailure(rq, composeMailboxQuota), nil
	}

	// A phone that lost the answer sends the same ClientId again: it gets Status 118,
	// not a second copy of the message ([MS-ASCMD] 2.2.3.177 common status 118). The
	// ClientId is claimed before sending and released if the send fails.
	if cr.ClientID != "" && rq.version >= v140 {
		fresh, err := h.claimClientID(rq, cr.ClientID)
		if err != nil {
			return nil, err
		}
		if !fresh {
			rq.log.Info("message previously sent", "client_id", cr.ClientID)
			return composeFailure(rq, composePreviouslySent), nil
		}
	}
	if err := h.opts.Sender.Submit(rq.ctx, rq.acct, nil, out); err != nil {
		if cr.ClientID != "" && rq.version >= v140 {
			h.releaseClientID(rq, cr.ClientID)
		}
		status, ok := submitStatus(err)
		if !ok {
			return nil, err
		}
		rq.log.Info("mail refused", "err", err, "status", status)
		return composeFailure(rq, status), nil
	}
	rq.log.Info("mail sent", "kind", rq.cmd, "size", len(out), "client_id", cr.ClientID)

	// The message is sent: what follows must not make the phone send it again, so
	// failures are logged, not answered.
	if cr.SaveInSent {
		h.saveInSent(rq, out)
	}
	if kind != composeSend {
		h.markOriginal(rq, orig, kind)
	}
	return &response{}, nil
}

// sentClientIDs is how many of a device's last ClientIds are remembered.
const sentClientIDs = 32

// claimClientID records a ClientId as sent by the device; fresh is false when it was
// already.
func (h *Handler) claimClientID(rq *request, id string) (fresh bool, err error) {
	_, err = h.updateDeviceState(rq.ctx, rq, func(s *deviceState) error {
		if slices.Contains(s.SentClientIDs, id) {
			fresh = false
			return nil
		}
		fresh = true
		s.SentClientIDs = append(s.SentClientIDs, id)
		if n := len(s.SentClientIDs); n > sentClientIDs {
			s.SentClientIDs = append([]string(nil), s.SentClientIDs[n-sentClientIDs:]...)
		}
		return nil
	})
	return fresh, err
}

// releaseClientID forgets a ClientId whose message was not sent, so the phone may retry.
func (h *Handler) releaseClientID(rq *request, id string) {
	if _, err := h.updateDeviceState(rq.ctx, rq, func(s *deviceState) error {
		s.SentClientIDs = slices.DeleteFunc(s.SentClientIDs, func(x string) bool { return x == id })
		return nil
	}); err != nil {
		rq.log.Error("releasing a ClientId", "err", err)
	}
}

// sourceMessage reads the message a SmartReply or SmartForward names, with the
// requester's principal: another account's item, a malformed id, or an item that is not
// mail is errSourceNotFound (DESIGN.md §2 invariant 7). ItemId is the ServerId Sync
// gave; LongId (from Search) has the same form. The item id decides: an item keeps its
// id when it moves, so FolderId is not needed ([MS-ASCMD] 2.2.3.93 lets the client omit
// it for the Inbox).
func (h *Handler) sourceMessage(rq *request, src composeSource) (store.Item, []byte, error) {
	sid := src.ItemID
	if sid == "" {
		sid = src.LongID
	}
	_, id, err := store.ParseServerID(sid)
	if err != nil {
		return store.Item{}, nil, errSourceNotFound
	}
	it, err := h.st.GetItem(rq.ctx, rq.p, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Class != store.ClassMail) {
		return store.Item{}, nil, errSourceNotFound
	}
	if err != nil {
		return store.Item{}, nil, err
	}
	f, err := h.st.OpenBlob(rq.ctx, rq.p, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Item{}, nil, errSourceNotFound
	}
	if err != nil {
		return store.Item{}, nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return store.Item{}, nil, err
	}
	return it, raw, nil
}

// saveInSent delivers the sent message into the Sent folder, read (\Seen) as a mail
// client's own copy is; IMAP and other devices see it there.
func (h *Handler) saveInSent(rq *request, raw []byte) {
	sent, err := h.st.FolderByRole(rq.ctx, rq.p, store.RoleSent)
	if err != nil {
		rq.log.Error("no Sent folder for the sent copy", "err", err)
		return
	}
	if _, err := h.st.Deliver(rq.ctx, rq.p, sent.ID, raw, store.DeliverOptions{Flags: store.FlagSeen}); err != nil {
		rq.log.Error("saving the sent copy", "err", err)
	}
}

// markOriginal flags the original as answered (RFC 9051 2.3.2 \Answered) or forwarded
// (the $Forwarded keyword, RFC 5788), as IMAP clients and Exchange do.
func (h *Handler) markOriginal(rq *request, it store.Item, kind composeKind) {
	sel := store.Selector{FolderID: it.FolderID, IDs: []int64{it.ID}}
	var err error
	if kind == composeReply {
		_, err = h.st.SetFlags(rq.ctx, rq.p, sel, store.FlagsAdd, store.FlagAnswered, nil)
	} else {
		_, err = h.st.SetFlags(rq.ctx, rq.p, sel, store.FlagsAdd, 0, []string{"$Forwarded"})
	}
	if err != nil {
		rq.log.Warn("marking the original", "err", err, "item", it.ID)
	}
}

// submitStatus maps a refusal of the submission path to a ComposeMail status. The
// Sender reports why it refused through a SubmitReason method (the SMTP front end's
// SubmitError), so that this package needs no import of it. ok is false for a fault,
// which the handler answers as a server error.
func submitStatus(err error) (status int, ok bool) {
	var refusal interface{ SubmitReason() string }
	if !errors.As(err, &refusal) {
		return 0, false
	}
	switch refusal.SubmitReason() {
	case "no-recipients":
		return composeNoRecipient, true
	case "recipient":
		return composeRecipientUnresolved, true
	case "too-large":
		return composeTooLarge, true
	case "temporary", "mailbox-full":
		return composeRetryLater, true
	default: // "sender" (not the user's address), "too-many-recipients", "rejected"
		return composeSubmissionFailed, true
	}
}

// composeFailure answers a failed command: from 14.0 with a Status in the command's
// element ([MS-ASCMD] 2.2.3.177.14, 2.2.3.177.16); at 12.1, which has no Status for
// these commands, with an HTTP error: 503 for a temporary failure, else 500.
func composeFailure(rq *request, status int) *response {
	if rq.version < v140 {
		if status == composeRetryLater {
			return &response{status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"30"}}}
		}
		return &response{status: http.StatusInternalServerError}
	}
	return &response{body: wbxml.NewElem("ComposeMail", rq.cmd, wbxml.NewText("ComposeMail", "Status", strconv.Itoa(status)))}
}
