package activesync

import (
	"context"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
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
	rrTooManyForAvailability = 160 // more than 100 To with Availability
	rrGroupTooLarge          = 161 // a distribution group of more than 20 members
	rrNoFreeBusy             = 163 // free/busy data could not be retrieved for the recipient
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
			if !ok1 || !ok2 || !end.After(start) {
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
	members int // a distribution group's members; 0 for a person
}

// cmdResolveRecipients is [MS-ASCMD] 2.2.1.15: each To, an address or a name, is looked
// up in the GAL and in the user's own Contacts folder. One match resolves it; several
// are suggestions; none is "not resolved", for unknown outside addresses too (a
// recipient the server cannot vouch for: Exchange likewise answers from its directory
// and the user's contacts only). Nobody has an S/MIME certificate or published
// free/busy data yet, so Certificates and Availability say so.
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
			avail := rrNoFreeBusy
			switch {
			case numTo > rrMaxAvailability:
				avail = rrTooManyForAvailability
			case c.members > rrMaxGroupAvailability:
				// [MS-ASCMD] 2.2.3.16: merged free/busy of a big group is of no use.
				avail = rrGroupTooLarge
			}
			r.Add(wbxml.NewElem(nsRR, "Availability", statusNode(nsRR, avail)))
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
	return rrCandidate{kind: recipientGAL, name: e.CommonName(), email: e.Email, photo: e.Photo, members: len(e.Members)}
}

// contactName is how a contact is shown: its name, else the address.
func contactName(pc directory.PersonalContact, email string) string {
	if n := strings.TrimSpace(pc.FullName); n != "" {
		return n
	}
	return email
}
