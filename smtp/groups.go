package smtp

import (
	"errors"
	"fmt"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// Distribution groups are expanded at RCPT time, as Postfix expands virtual aliases:
// the group's address becomes its members' addresses in the envelope, so local
// members are delivered in the message's one store mutation (one blob, an item each)
// and external members are queued. A member reached twice (directly and through a
// nested group, or through a loop) gets one copy. Nothing records the group address
// in the message beyond the headers the sender wrote (and the Received "for" clause).

// RFC 3463 X.2.4: mailing list expansion problem.
var errEmptyGroup = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 2, 4}, Message: "Group has no deliverable members"}

// groupTooBig: RFC 3463 X.5.3, too many recipients.
func groupTooBig(limit int) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 5, 3},
		Message: fmt.Sprintf("Group expands to more than %d recipients", limit)}
}

// rcptGroup accepts addr, a hosted address that is no account or alias, if it is a
// group: its expansion joins the transaction's recipients. isGroup is false when addr
// is not a group either. Either the whole expansion is added or nothing is.
func (se *session) rcptGroup(addr string) (isGroup bool, err error) {
	limit := se.s.opts.MaxRecipients
	leaves, err := se.s.opts.Store.ExpandGroup(se.ctx, addr, limit)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		se.log.Error("expand group", "group", addr, "err", err)
		return true, replyFor(err)
	}
	if len(leaves) > limit {
		se.log.Info("recipient refused", "to", addr, "reason", "group too big")
		return true, groupTooBig(limit)
	}
	var local []int64
	var remote []string
	for _, m := range leaves {
		_, domain, err := store.SplitAddress(m)
		if err != nil {
			continue // the store keeps only valid addresses
		}
		hosted, err := se.hosted(domain)
		if err != nil {
			se.log.Error("domain lookup", "err", err)
			return true, replyFor(err)
		}
		if !hosted {
			remote = append(remote, m)
			continue
		}
		id, err := se.s.opts.Store.ResolveAddress(se.ctx, m)
		if errors.Is(err, store.ErrNotFound) {
			// A member deleted after it joined the group: the others still get the mail.
			se.log.Warn("group member unknown, skipped", "group", addr, "member", m)
			continue
		}
		if err != nil {
			se.log.Error("resolve group member", "err", err)
			return true, replyFor(err)
		}
		a, err := se.s.opts.Store.Account(se.ctx, id)
		if err != nil {
			se.log.Error("read group member", "err", err)
			return true, replyFor(err)
		}
		if a.Disabled {
			se.log.Info("group member disabled, skipped", "group", addr, "member", m)
			continue
		}
		if a.QuotaBytes > 0 && a.UsageBytes >= a.QuotaBytes {
			// One full mailbox must not refuse the mail for every other member.
			se.log.Warn("group member over quota, skipped", "group", addr, "member", m)
			continue
		}
		local = append(local, id)
	}
	if len(local)+len(remote) == 0 {
		se.log.Info("recipient refused", "to", addr, "reason", "empty group")
		return true, errEmptyGroup
	}
	for _, id := range local {
		se.addLocal(id)
	}
	for _, m := range remote {
		se.addRemote(m)
	}
	se.rcpts = append(se.rcpts, addr)
	se.log.Debug("group expanded", "group", addr, "local", len(local), "remote", len(remote))
	return true, nil
}

// addLocal adds an account to the transaction's local recipients, once.
func (se *session) addLocal(id int64) {
	if se.localID[id] {
		return
	}
	if se.localID == nil {
		se.localID = map[int64]bool{}
	}
	se.localID[id] = true
	se.local = append(se.local, store.Recipient{Principal: store.Principal{AccountID: id}})
}

// addRemote adds an address to the transaction's queued recipients, once.
func (se *session) addRemote(addr string) {
	key := strings.ToLower(addr)
	if se.remSeen[key] {
		return
	}
	if se.remSeen == nil {
		se.remSeen = map[string]bool{}
	}
	se.remSeen[key] = true
	se.remote = append(se.remote, addr)
}
