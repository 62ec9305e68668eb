package activesync

import (
	"context"
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/calendar"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// nsRR is the ResolveRecipients namespace.
const nsRR = "ResolveRecipients"

// ResolveRecipients statuses, [MS-ASCMD] 2.2.3.177.12.
const (
	// Of the command.
	rrSuccess       = 1
	rrProtocolError = 5
	// Of one Response (one To).
	rrResolved         = 1
	rrAmbiguous        = 2 // the Recipients are every suggestion
	rrAmbiguousPartial = 3 // the Recipients are some of RecipientCount suggestions
	rrNotResolved      = 4
	// Of Certificates.
	rrNoCertificate = 7 // the recipient has no valid S/MIME certificate
	// Of Availability.
	rrFreeBusy               = 1
	rrTooManyForAvailability = 160 // more than 100 To with Availability
	rrGroupTooLarge          = 161 // a distribution group of more than 20 members
	rrFreeBusyTemporary      = 162 // free/busy could not be read now; ask again later
	rrNoFreeBusy             = 163 // no free/busy data for this recipient; do not ask again
)

// Recipient types, [MS-ASCMD] 2.2.3.186.5.
const (
	recipientGAL     = 1
	recipientContact = 2
)

// Limits of ResolveRecipients. [MS-ASCMD] 2.2.3.183: more than 1000 To is undefined (a
// protocol error here), a To is at most 256 characters, and with Availability at most
// 100 To are answered. Without MaxAmbiguousRecipients the number of suggestions is the
// server's choice.
const (
	rrMaxTo                = 1000
	rrMaxToLength          = 256
	rrMaxAvailability      = 100
	rrMaxGroupAvailability = 20
	// [MS-ASCMD] 2.2.3.61.1: EndTime at least 30 minutes after StartTime, and a window
	// no longer than Exchange's 42 days; one MergedFreeBusy digit per 30 minutes
	// ([MS-ASCMD] 2.2.3.107).
	freeBusyInterval  = 30 * time.Minute
	freeBusyMaxWindow = 42 * 24 * time.Hour
	// freeBusyMaxObjects bounds the calendar objects read for one person.
	freeBusyMaxObjects     = 2000
	rrDefaultMaxSuggestion = 20
)

// rrOptions are the Options of a ResolveRecipients request ([MS-ASCMD] 2.2.3.125.4).
type rrOptions struct {
	certificates     int // CertificateRetrieval: 1 none, 2 full, 3 mini ([MS-ASCMD] 2.2.3.22)
	maxCertificates  int
	maxSuggestions   int
	availability     bool
	start, end       time.Time
	picture          *pictureOptions
	hasMaxSuggestion bool
}

// parseRROptions reads the Options; ok is false for a value out of its range.
func parseRROptions(n *wbxml.Node) (rrOptions, bool) {
	o := rrOptions{certificates: 1, maxSuggestions: rrDefaultMaxSuggestion}
	if n == nil {
		return o, true
	}
	for _, c := range n.Children {
		switch c.Name() {
		case nsRR + ":CertificateRetrieval":
			v, ok := parseSmallUint(strings.TrimSpace(c.Text))
			if !ok || v < 1 || v > 3 {
				return o, false
			}
			o.certificates = v
		case nsRR + ":MaxCertificates":
			v, ok := parseSmallUint(strings.TrimSpace(c.Text))
			if !ok || v > 9999 {
				return o, false
			}
			o.maxCertificates = v
		case nsRR + ":MaxAmbiguousRecipients":
			v, ok := parseSmallUint(strings.TrimSpace(c.Text))
			if !ok || v > 9999 { // [MS-ASCMD] 2.2.3.100: 0–9999
				return o, false
			}
			o.maxSuggestions, o.hasMaxSuggestion = v, true
		case nsRR + ":Availability":
			// [MS-ASCMD] 2.2.3.16: StartTime and EndTime, both required.
			start, ok1 := parseEASTime(c.ChildText(nsRR + ":StartTime"))
			end, ok2 := parseEASTime(c.ChildText(nsRR + ":EndTime"))
			if !ok1 || !ok2 || end.Before(start.Add(freeBusyInterval)) || end.Sub(start) > freeBusyMaxWindow {
				return o, false
			}
			o.availability, o.start, o.end = true, start, end
		case nsRR + ":Picture":
			o.picture = parsePictureOptions(c)
		}
	}
	return o, true
}

// rrCandidate is one person a To may mean.
type rrCandidate struct {
	kind    int // recipientGAL or recipientContact
	name    string
	email   string
	photo   []byte
	members int                 // a distribution group's members; 0 for a person
	entry   *directory.GALEntry // the GAL entry; nil for a contact
}

// cmdResolveRecipients is [MS-ASCMD] 2.2.1.15: each To, an address or a name, is looked
// up in the GAL and in the user's own Contacts folder. One match resolves it; several
// are suggestions; none is "not resolved", for unknown outside addresses too (a
// recipient the server cannot vouch for: Exchange likewise answers from its directory
// and the user's contacts only). Nobody has an S/MIME certificate yet, so Certificates
// say so; Availability is computed from the calendars.
func (h *Handler) cmdResolveRecipients(rq *request) (*response, error) {
	root := rq.body
	if root == nil || !root.Is(nsRR+":ResolveRecipients") {
		return rrStatus(rrProtocolError), nil
	}
	tos := root.All(nsRR + ":To")
	if len(tos) == 0 || len(tos) > rrMaxTo {
		return rrStatus(rrProtocolError), nil
	}
	opts, ok := parseRROptions(root.Child(nsRR + ":Options"))
	if !ok {
		return rrStatus(rrProtocolError), nil
	}
	for _, to := range tos {
		if len(to.Text) > rrMaxToLength {
			return rrStatus(rrProtocolError), nil
		}
	}
	var contacts []directory.PersonalContact
	var snap *directory.GALSnapshot
	if h.opts.GAL != nil {
		snap = h.opts.GAL.Snapshot()
		var err error
		if contacts, err = h.opts.GAL.PersonalContacts(rq.ctx, rq.acct.ID); err != nil {
			return nil, err
		}
	}
	var pics *pictureBudget
	if rq.version >= v141 && opts.picture != nil { // [MS-ASCMD] 2.2.3.135.2: 14.1+
		pics = &pictureBudget{opts: opts.picture}
	}
	out := wbxml.NewElem(nsRR, "ResolveRecipients", statusNode(nsRR, rrSuccess))
	for _, to := range tos {
		out.Add(h.resolveOne(rq.ctx, to.Text, len(tos), snap, contacts, opts, pics))
	}
	return &response{body: out}, nil
}

func rrStatus(status int) *response {
	return &response{body: wbxml.NewElem(nsRR, "ResolveRecipients", statusNode(nsRR, status))}
}

// resolveOne answers one To in the order of ResolveRecipientsResponse.xsd: To, Status,
// RecipientCount, then each Recipient (Type, DisplayName, EmailAddress, Availability,
// Certificates, Picture).
func (h *Handler) resolveOne(ctx context.Context, to string, numTo int, snap *directory.GALSnapshot,
	contacts []directory.PersonalContact, opts rrOptions, pics *pictureBudget) *wbxml.Node {
	cands := resolveCandidates(to, snap, contacts)
	resp := wbxml.NewElem(nsRR, "Response", wbxml.NewText(nsRR, "To", cleanText(to)))
	status := rrResolved
	shown := cands
	switch {
	case len(cands) == 0:
		return resp.Add(statusNode(nsRR, rrNotResolved), wbxml.NewText(nsRR, "RecipientCount", "0"))
	case len(cands) > 1 && len(cands) > opts.maxSuggestions:
		status, shown = rrAmbiguousPartial, cands[:opts.maxSuggestions]
	case len(cands) > 1:
		status = rrAmbiguous
	}
	resp.Add(statusNode(nsRR, status), wbxml.NewText(nsRR, "RecipientCount", strconv.Itoa(len(cands))))
	for _, c := range shown {
		r := wbxml.NewElem(nsRR, "Recipient",
			wbxml.NewText(nsRR, "Type", strconv.Itoa(c.kind)),
			wbxml.NewText(nsRR, "DisplayName", cleanText(c.name)),
			wbxml.NewText(nsRR, "EmailAddress", cleanText(c.email)))
		// [MS-ASCMD] 2.2.3.16, 2.2.3.23.1: availability and certificates only for a
		// recipient resolved uniquely; ambiguous suggestions carry neither.
		if status == rrResolved && opts.availability {
			r.Add(h.availability(ctx, c, numTo, snap, opts))
		}
		if status == rrResolved && opts.certificates > 1 {
			r.Add(wbxml.NewElem(nsRR, "Certificates", statusNode(nsRR, rrNoCertificate),
				wbxml.NewText(nsRR, "CertificateCount", "0")))
		}
		if p := pics.picture(nsRR, c.photo); p != nil {
			r.Add(p)
		}
		resp.Add(r)
	}
	return resp
}

// resolveCandidates finds who a To means. An address (bare or "Name <addr>") resolves
// exactly: the GAL entry having it as address or alias, else the contacts having it. A
// name is searched as the GAL search does (galSearch) and among the contacts; a match
// whose whole display name is the To wins alone, as Exchange's name resolution prefers
// an exact match. GAL entries come first; a contact whose address is a GAL entry's is
// not repeated.
func resolveCandidates(to string, snap *directory.GALSnapshot, contacts []directory.PersonalContact) []rrCandidate {
	to = strings.TrimSpace(to)
	if to == "" {
		return nil
	}
	if addr, ok := toAddress(to); ok {
		if snap != nil {
			if e, ok := snap.ByEmail(addr); ok {
				return []rrCandidate{galCandidate(e)}
			}
		}
		var out []rrCandidate
		for _, pc := range contacts {
			for _, em := range pc.Emails {
				if strings.EqualFold(strings.TrimSpace(em), addr) {
					out = append(out, rrCandidate{kind: recipientContact, name: contactName(pc, em), email: strings.TrimSpace(em)})
					break
				}
			}
		}
		if len(out) > 1 {
			out = out[:1] // the same address: one recipient
		}
		return out
	}
	var out []rrCandidate
	seen := map[string]bool{}
	if snap != nil {
		for _, e := range galSearch(snap, to) {
			out = append(out, galCandidate(e))
			seen[strings.ToLower(e.Email)] = true
		}
	}
	q := directory.Fold(to)
	terms := strings.Fields(q)
	for _, pc := range contacts {
		var words []string
		for _, v := range []string{pc.FullName, pc.GivenName, pc.Surname} {
			words = append(words, strings.Fields(directory.Fold(v))...)
		}
		for _, em := range pc.Emails {
			em = strings.TrimSpace(em)
			if em == "" || seen[strings.ToLower(em)] {
				continue
			}
			w := append(words[:len(words):len(words)], strings.ToLower(em))
			if nameMatches(q, terms, w, []string{em}) {
				seen[strings.ToLower(em)] = true
				out = append(out, rrCandidate{kind: recipientContact, name: contactName(pc, em), email: em})
			}
		}
	}
	if len(out) > 1 {
		var exact []rrCandidate
		for _, c := range out {
			if directory.Fold(c.name) == q {
				exact = append(exact, c)
			}
		}
		if len(exact) == 1 {
			return exact
		}
	}
	return out
}

// toAddress reads a To that is an address: "user@domain" or "Name <user@domain>".
func toAddress(to string) (string, bool) {
	if a, err := mail.ParseAddress(to); err == nil {
		return a.Address, true
	}
	if strings.Contains(to, "@") && !strings.ContainsAny(to, " \t<>,;") {
		return to, true
	}
	return "", false
}

func galCandidate(e *directory.GALEntry) rrCandidate {
	return rrCandidate{kind: recipientGAL, name: e.CommonName(), email: e.Email, photo: e.Photo, members: len(e.Members), entry: e}
}

// contactName is how a contact is shown: its name, else the address.
func contactName(pc directory.PersonalContact, email string) string {
	if n := strings.TrimSpace(pc.FullName); n != "" {
		return n
	}
	return email
}

// availability is a resolved recipient's Availability ([MS-ASCMD] 2.2.3.16): the merged
// free/busy of a person's default calendar, or of a group's local members, over the
// window, one digit per 30 minutes. A contact, or an outside member, has none here.
//
// Free/busy is read from other accounts' calendars on the server's authority, as
// Exchange publishes every mailbox's free/busy times to the whole organization by
// default: only the busy periods and their kinds leave this function, never a subject,
// a place or an attendee.
func (h *Handler) availability(ctx context.Context, c rrCandidate, numTo int, snap *directory.GALSnapshot, opts rrOptions) *wbxml.Node {
	node := func(status int, merged string) *wbxml.Node {
		n := wbxml.NewElem(nsRR, "Availability", statusNode(nsRR, status))
		if merged != "" {
			n.Add(wbxml.NewText(nsRR, "MergedFreeBusy", merged))
		}
		return n
	}
	switch {
	case numTo > rrMaxAvailability:
		return node(rrTooManyForAvailability, "")
	case c.entry == nil:
		return node(rrNoFreeBusy, "")
	case c.members > rrMaxGroupAvailability:
		// [MS-ASCMD] 2.2.3.183: merged free/busy of a big group is of no use.
		return node(rrGroupTooLarge, "")
	}
	people := []*directory.GALEntry{c.entry}
	if c.entry.IsGroup() {
		people = people[:0]
		for _, m := range c.entry.Members {
			if e, ok := snap.ByEmail(m); ok && !e.IsGroup() {
				people = append(people, e)
			}
		}
	}
	var periods []calendar.BusyPeriod
	found := false
	for _, e := range people {
		ps, ok, err := h.busyPeriods(ctx, e, opts.start, opts.end)
		if err != nil {
			h.log.Warn("free/busy", "account", e.Email, "err", err)
			return node(rrFreeBusyTemporary, "")
		}
		found = found || ok
		periods = append(periods, ps...)
	}
	if !found {
		return node(rrNoFreeBusy, "")
	}
	return node(rrFreeBusy, calendar.MergedFreeBusy(calendar.MergeBusy(periods), opts.start, opts.end, freeBusyInterval))
}

// busyPeriods reads a person's busy periods in [start, end) from their default
// calendar; ok is false when they have none. Only the objects whose indexed times may
// meet the window are read (widened by a day for floating and all-day times).
func (h *Handler) busyPeriods(ctx context.Context, e *directory.GALEntry, start, end time.Time) (periods []calendar.BusyPeriod, ok bool, err error) {
	p := store.Principal{AccountID: e.ID}
	f, err := h.st.FolderByRole(ctx, p, store.RoleCalendar)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	items, err := h.st.ListItems(ctx, p, f.ID, store.UIDRange{First: 1})
	if err != nil {
		return nil, false, err
	}
	lo, hi := start.Add(-24*time.Hour), end.Add(24*time.Hour)
	var objects [][]byte
	for _, it := range items {
		if !it.Start.IsZero() {
			last := it.End
			if !it.RecurEnd.IsZero() && it.RecurEnd.After(last) {
				last = it.RecurEnd
			}
			if !it.Start.Before(hi) || (!last.IsZero() && !last.After(lo)) {
				continue
			}
		}
		if len(objects) == freeBusyMaxObjects {
			h.log.Warn("free/busy: too many calendar objects in the window", "account", e.Email)
			break
		}
		full, err := h.st.GetItem(ctx, p, it.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, false, err
		}
		objects = append(objects, []byte(full.Content))
	}
	periods, err = calendar.FreeBusy(objects, calendar.FreeBusyOptions{Start: start, End: end, Account: e.Email})
	if err != nil {
		// An object that cannot be read is left out; the others still count.
		h.log.Debug("free/busy: unreadable calendar object", "account", e.Email, "err", err)
	}
	return periods, true, nil
}
