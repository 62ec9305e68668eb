package imap

import (
	"context"
	"errors"
	"strings"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/gatehouse/gatehouse/store"
)

// System flags (RFC 9051 2.3.2) and their store bits. \Recent is per session and is
// not stored.
var systemFlags = []struct {
	flag goimap.Flag
	bit  store.Flags
}{
	{goimap.FlagSeen, store.FlagSeen},
	{goimap.FlagAnswered, store.FlagAnswered},
	{goimap.FlagFlagged, store.FlagFlagged},
	{goimap.FlagDeleted, store.FlagDeleted},
	{goimap.FlagDraft, store.FlagDraft},
}

// recentFlag is \Recent (RFC 3501 2.3.2), which IMAP4rev2 dropped.
const recentFlag = goimap.Flag(`\Recent`)

// imapFlags renders stored flags and keywords as IMAP flags.
func imapFlags(f store.Flags, keywords []string) []goimap.Flag {
	out := make([]goimap.Flag, 0, 2+len(keywords))
	for _, sf := range systemFlags {
		if f&sf.bit != 0 {
			out = append(out, sf.flag)
		}
	}
	for _, k := range keywords {
		out = append(out, goimap.Flag(k))
	}
	return out
}

// storeFlags splits IMAP flags into store bits and keywords. \Recent and unknown
// backslash flags are ignored (RFC 9051 6.4.6 lets a server ignore flags it cannot
// store); keywords must be atoms.
func storeFlags(flags []goimap.Flag) (store.Flags, []string, error) {
	var f store.Flags
	var kw []string
outer:
	for _, fl := range flags {
		s := string(fl)
		if strings.HasPrefix(s, `\`) {
			for _, sf := range systemFlags {
				if strings.EqualFold(s, string(sf.flag)) {
					f |= sf.bit
					continue outer
				}
			}
			continue
		}
		if s == "" || strings.ContainsAny(s, " \t\r\n(){%*\"\\]") {
			return 0, nil, &goimap.Error{Type: goimap.StatusResponseTypeBad, Text: "invalid keyword"}
		}
		kw = append(kw, s)
	}
	return f, kw, nil
}

// mailboxFlags is the FLAGS response of a mailbox: the system flags and its keywords.
func mailboxFlags(keywords []string) []goimap.Flag {
	out := []goimap.Flag{goimap.FlagSeen, goimap.FlagAnswered, goimap.FlagFlagged, goimap.FlagDeleted, goimap.FlagDraft}
	for _, k := range keywords {
		out = append(out, goimap.Flag(k))
	}
	return out
}

// permanentFlags adds \* (clients may create keywords, RFC 9051 7.1).
func permanentFlags(keywords []string) []goimap.Flag {
	return append(mailboxFlags(keywords), goimap.FlagWildcard)
}

// imapError maps a store or directory error to the IMAP response the client gets; it
// is the one place where that happens. The detail goes to the log, the client gets a
// short text with a response code (RFC 5530).
func (s *session) imapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var ie *goimap.Error
	if errors.As(err, &ie) {
		return err
	}
	no := func(code goimap.ResponseCode, text string) error {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return no(goimap.ResponseCodeNonExistent, "No such mailbox or message")
	case errors.Is(err, store.ErrExists):
		return no(goimap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, store.ErrOverQuota):
		return no(goimap.ResponseCodeOverQuota, "Quota exceeded")
	case errors.Is(err, store.ErrTooLarge):
		return no(goimap.ResponseCodeTooBig, "Message too large")
	case errors.Is(err, store.ErrInvalid):
		s.log.Debug(what, "err", err)
		return no(goimap.ResponseCodeCannot, "Operation not permitted")
	case errors.Is(err, context.Canceled), errors.Is(err, store.ErrClosed):
		return no(goimap.ResponseCodeUnavailable, "Server shutting down")
	}
	s.log.Error(what, "err", err)
	return no(goimap.ResponseCodeServerBug, "Internal error")
}
