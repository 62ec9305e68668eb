package activesync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// easTime is the date format of [MS-ASDTYPE] 2.3 (dateTime) that Email uses.
const easTime = "2006-01-02T15:04:05.000Z"

// emailApplicationData builds the AirSync:ApplicationData of a mail item ([MS-ASEMAIL]
// 2.2.2) for Sync, ItemOperations Fetch and Search. It reads the structure stored at
// delivery and only the body parts it sends from the blob; the message is not parsed
// again.
func (h *Handler) emailApplicationData(ctx context.Context, rq *request, it store.Item, bo bodyOptions) (*wbxml.Node, error) {
	parsed, err := h.st.Structure(ctx, rq.p, it.ID)
	if err != nil {
		return nil, err
	}
	env := parsed.Envelope
	ad := wbxml.NewElem("AirSync", "ApplicationData")
	email := func(tag, text string) { ad.Add(wbxml.NewText("Email", tag, text)) }

	if s := addressList(env.To); s != "" {
		email("To", s)
	}
	if s := addressList(env.Cc); s != "" {
		email("Cc", s)
	}
	if s := addressList(env.From); s != "" {
		email("From", s)
	}
	email("Subject", cleanText(env.Subject))
	if s := addressList(env.ReplyTo); s != "" {
		email("ReplyTo", s)
	}
	email("DateReceived", it.InternalDate.UTC().Format(easTime))
	email("DisplayTo", displayTo(env.To))
	email("ThreadTopic", cleanText(threadTopic(env.Subject)))
	email("Importance", "1") // normal; the header's Importance is not indexed
	email("Read", boolText(it.Flags&store.FlagSeen != 0))

	if atts := h.attachmentsNode(it, parsed); atts != nil {
		ad.Add(atts)
	}
	body, native, err := h.bodyNode(ctx, rq, it, parsed, bo)
	if err != nil {
		return nil, err
	}
	ad.Add(body)

	smime, signed := isSMIME(parsed.Structure)
	class := "IPM.Note"
	switch {
	case signed:
		class = "IPM.Note.SMIME.MultipartSigned"
	case smime:
		class = "IPM.Note.SMIME"
	}
	email("MessageClass", class)
	email("InternetCPID", "65001") // UTF-8: every text we send is UTF-8
	ad.Add(flagNode(it.Flags))
	email("ContentClass", "urn:content-classes:message")
	ad.Add(wbxml.NewText("AirSyncBase", "NativeBodyType", strconv.Itoa(native)))
	if cats := categoriesNode(it.Keywords); cats != nil {
		ad.Add(cats)
	}
	if rq.version >= v140 {
		// [MS-ASEMAIL] 2.2.2.14, 2.2.2.15: opaque to the client; one conversation per
		// thread key.
		ad.Add(wbxml.NewOpaque("Email2", "ConversationId", conversationID(it, parsed)))
		ad.Add(wbxml.NewOpaque("Email2", "ConversationIndex", conversationIndex(it)))
	}
	if rq.version >= v160 {
		// [MS-ASEMAIL] 2.2.2.4, 2.2.2.43: drafts (16.0+).
		if s := addressList(env.Bcc); s != "" {
			ad.Add(wbxml.NewText("Email2", "Bcc", s))
		}
		ad.Add(wbxml.NewText("Email2", "IsDraft", boolText(it.Flags&store.FlagDraft != 0)))
	}
	return ad, nil
}

// emailChangeData is the ApplicationData of a server Change of a mail item the device
// holds: only what can change on a message that is not a draft, its flags ([MS-ASCMD]
// 2.2.3.24: Read, Flag, Categories).
func emailChangeData(it store.Item) *wbxml.Node {
	ad := wbxml.NewElem("AirSync", "ApplicationData",
		wbxml.NewText("Email", "Read", boolText(it.Flags&store.FlagSeen != 0)),
		flagNode(it.Flags))
	cats := categoriesNode(it.Keywords)
	if cats == nil {
		cats = wbxml.NewElem("Email", "Categories") // empty: no category left
	}
	return ad.Add(cats)
}

// attachmentsNode lists a message's attachments ([MS-ASAIRS] 2.2.2.7) with the
// FileReference ItemOperations and GetAttachment resolve.
func (h *Handler) attachmentsNode(it store.Item, parsed *message.Parsed) *wbxml.Node {
	if len(parsed.Attachments) == 0 {
		return nil
	}
	atts := wbxml.NewElem("AirSyncBase", "Attachments")
	for _, a := range parsed.Attachments {
		name := cleanText(a.Name)
		if name == "" {
			name = "attachment"
			if ext := extensionFor(a.ContentType); ext != "" {
				name += ext
			}
		}
		att := wbxml.NewElem("AirSyncBase", "Attachment",
			wbxml.NewText("AirSyncBase", "DisplayName", name),
			wbxml.NewText("AirSyncBase", "FileReference", formatFileRef(it.FolderID, it.ID, a.Part)),
			wbxml.NewText("AirSyncBase", "Method", "1"), // normal attachment ([MS-ASAIRS] 2.2.2.31)
			wbxml.NewText("AirSyncBase", "EstimatedDataSize", strconv.FormatInt(max(a.Size, 0), 10)))
		if a.ContentID != "" {
			att.Add(wbxml.NewText("AirSyncBase", "ContentId", cleanText(a.ContentID)))
		}
		if a.Inline {
			att.Add(wbxml.NewText("AirSyncBase", "IsInline", "1"))
		}
		atts.Add(att)
	}
	return atts
}

func extensionFor(contentType string) string {
	switch contentType {
	case "message/rfc822":
		return ".eml"
	case "text/calendar":
		return ".ics"
	case "application/pdf":
		return ".pdf"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	}
	return ""
}

// flagNode is Email:Flag ([MS-ASEMAIL] 2.2.2.35): \Flagged is Status 2 (active) with
// the FlagType Outlook shows; an empty Flag element clears it.
func flagNode(f store.Flags) *wbxml.Node {
	if f&store.FlagFlagged == 0 {
		return wbxml.NewElem("Email", "Flag")
	}
	return wbxml.NewElem("Email", "Flag",
		wbxml.NewText("Email", "Status", "2"),
		wbxml.NewText("Email", "FlagType", "Flag for follow up"))
}

// Categories ([MS-ASEMAIL] 2.2.2.12) are kept as IMAP keywords, so that an IMAP client
// sees them too. A keyword cannot hold a space or an atom-special (RFC 9051 9,
// flag-keyword), so those are percent-encoded; keywords that are IMAP's own ($Forwarded,
// $Junk, NonJunk…) are not categories.

// isCategoryKeyword says whether a keyword is a category rather than an IMAP marker.
func isCategoryKeyword(k string) bool {
	if k == "" || k[0] == '$' || k[0] == '\\' {
		return false
	}
	switch strings.ToLower(k) {
	case "junk", "nonjunk", "notjunk", "forwarded", "mdnsent":
		return false
	}
	return true
}

// categoryKeyword turns a category into a keyword.
func categoryKeyword(c string) string {
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`()%{*"\]`, ch) >= 0 || (i == 0 && ch == '$') {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(ch)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// keywordCategory is the inverse of categoryKeyword.
func keywordCategory(k string) string {
	if !strings.Contains(k, "%") {
		return k
	}
	if s, err := url.PathUnescape(k); err == nil {
		return s
	}
	return k
}

// categoriesNode is Email:Categories for an item's keywords, nil when it has none.
func categoriesNode(keywords []string) *wbxml.Node {
	var cats *wbxml.Node
	n := 0
	for _, k := range keywords {
		if !isCategoryKeyword(k) || n == 300 { // at most 300 ([MS-ASEMAIL] 2.2.2.12)
			continue
		}
		if cats == nil {
			cats = wbxml.NewElem("Email", "Categories")
		}
		cats.Add(wbxml.NewText("Email", "Category", cleanText(keywordCategory(k))))
		n++
	}
	return cats
}

// withCategories replaces the category keywords of a keyword list, keeping the others.
func withCategories(keywords, categories []string) []string {
	out := make([]string, 0, len(keywords)+len(categories))
	for _, k := range keywords {
		if !isCategoryKeyword(k) {
			out = append(out, k)
		}
	}
	for _, c := range categories {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, categoryKeyword(c))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addressList formats an address list as To and Cc carry it: RFC 5322 addresses
// separated by ", " ([MS-ASEMAIL] 2.2.2.80).
func addressList(list []message.Address) string {
	var parts []string
	for _, a := range message.Mailboxes(list) {
		if a.Addr() == "" {
			continue
		}
		parts = append(parts, a.String())
	}
	return cleanText(strings.Join(parts, ", "))
}

// displayTo is the display names of the To recipients separated by ";" ([MS-ASEMAIL]
// 2.2.2.31), the address where there is no name.
func displayTo(list []message.Address) string {
	var parts []string
	for _, a := range message.Mailboxes(list) {
		name := strings.TrimSpace(a.Name)
		if name == "" {
			name = a.Addr()
		}
		if name != "" {
			parts = append(parts, name)
		}
	}
	return cleanText(strings.Join(parts, "; "))
}

// threadTopic is the subject without reply and forward prefixes ([MS-ASEMAIL]
// 2.2.2.77).
func threadTopic(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		lower := strings.ToLower(s)
		cut := false
		for _, p := range []string{"re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "tr:"} {
			if strings.HasPrefix(lower, p) {
				s = strings.TrimSpace(s[len(p):])
				cut = true
				break
			}
		}
		if !cut {
			return s
		}
	}
}

// conversationID is 16 bytes naming the item's conversation: a hash of its thread key.
func conversationID(it store.Item, parsed *message.Parsed) []byte {
	key := it.ThreadKey
	if key == "" {
		key = parsed.ThreadKey
	}
	if key == "" {
		key = "item:" + strconv.FormatInt(it.ID, 10)
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:16]
}

// conversationIndex is one 5-byte timestamp ([MS-ASEMAIL] 2.2.2.15): the upper 40 bits
// of the message's FILETIME, as the header block of PidTagConversationIndex holds it.
func conversationIndex(it store.Item) []byte {
	t := it.SentDate
	if t.IsZero() {
		t = it.InternalDate
	}
	ft := uint64(t.UnixNano()/100) + 116444736000000000 // 100 ns since 1601
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ft)
	return append([]byte(nil), b[0:5]...)
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// cleanText drops what WBXML inline strings cannot carry (NUL) and invalid UTF-8.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// parseEASTime reads a [MS-ASDTYPE] dateTime.
func parseEASTime(s string) (time.Time, bool) {
	for _, layout := range []string{easTime, time.RFC3339Nano, "20060102T150405Z"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
