package calendar

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// IMIPOptions are the mail headers of an iMIP message.
type IMIPOptions struct {
	From      string   // "Name <addr>" or addr
	To        []string // addresses
	Subject   string   // default: from the method and SUMMARY
	Text      string   // the text/plain alternative; default: a short summary
	Date      time.Time
	MessageID string // without angle brackets; default: none (the submitter adds one)
}

// BuildIMIP wraps an iTIP message in the mail RFC 6047 describes: a
// multipart/alternative with a text/plain part and the text/calendar part
// whose Content-Type carries the same method (RFC 6047 2.4), as Exchange,
// Google and Apple send it.
func BuildIMIP(itip []byte, opts IMIPOptions) ([]byte, error) {
	msg, err := ParseITIP(itip)
	if err != nil {
		return nil, err
	}
	summary, _ := propText(msg.Object.Primary(), ical.PropSummary)
	subject := opts.Subject
	if subject == "" {
		subject = imipSubject(msg, summary)
	}
	text := opts.Text
	if text == "" {
		text = subject + "\r\n"
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", encodeAddress(opts.From))
	var to []string
	for _, a := range opts.To {
		to = append(to, encodeAddress(a))
	}
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", date.Format(time.RFC1123Z))
	if opts.MessageID != "" {
		hdr("Message-ID", "<"+opts.MessageID+">")
	}
	hdr("MIME-Version", "1.0")
	mw := multipart.NewWriter(&b)
	hdr("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")

	th := textproto.MIMEHeader{}
	th.Set("Content-Type", "text/plain; charset=utf-8")
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	w, _ := mw.CreatePart(th)
	qp := quotedprintable.NewWriter(w)
	_, _ = qp.Write([]byte(text))
	_ = qp.Close()

	ch := textproto.MIMEHeader{}
	ch.Set("Content-Type", mime.FormatMediaType("text/calendar", map[string]string{"method": msg.Method, "charset": "utf-8", "component": "VEVENT"}))
	ch.Set("Content-Transfer-Encoding", "base64")
	w, _ = mw.CreatePart(ch)
	enc := base64.StdEncoding.EncodeToString(itip)
	for len(enc) > 76 {
		_, _ = io.WriteString(w, enc[:76]+"\r\n")
		enc = enc[76:]
	}
	_, _ = io.WriteString(w, enc+"\r\n")
	_ = mw.Close()
	return b.Bytes(), nil
}

func imipSubject(msg *ITIPMessage, summary string) string {
	switch msg.Method {
	case MethodCancel:
		return "Canceled: " + summary
	case MethodReply:
		ps := ""
		if len(msg.Attendees) > 0 {
			ps = partstatOfStatus(msg.Attendees[0].Status)
		}
		switch ps {
		case "ACCEPTED":
			return "Accepted: " + summary
		case "DECLINED":
			return "Declined: " + summary
		case "TENTATIVE":
			return "Tentative: " + summary
		}
		return "Reply: " + summary
	}
	return summary
}

func encodeAddress(a string) string {
	if addr, err := mail.ParseAddress(a); err == nil {
		return addr.String()
	}
	return a
}

// CalendarPart finds the text/calendar part of an RFC 5322 message (an iMIP
// mail, RFC 6047) and returns its decoded bytes and method.
func CalendarPart(msg []byte) ([]byte, string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return nil, "", fmt.Errorf("calendar: iMIP: %w", err)
	}
	return findCalendar(textproto.MIMEHeader(m.Header), m.Body, 0)
}

func findCalendar(h textproto.MIMEHeader, body io.Reader, depth int) ([]byte, string, error) {
	if depth > 8 {
		return nil, "", fmt.Errorf("calendar: iMIP: nested too deeply")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, "", fmt.Errorf("calendar: iMIP: %w", err)
	}
	body = io.LimitReader(body, MaxObjectSize*2)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			if b, m, err := findCalendar(p.Header, p, depth+1); err == nil {
				return b, m, nil
			}
		}
		return nil, "", fmt.Errorf("calendar: iMIP: no text/calendar part")
	case mt == "text/calendar" || mt == "application/ics":
		var r io.Reader = body
		switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxObjectSize+1))
		if err != nil {
			return nil, "", fmt.Errorf("calendar: iMIP: %w", err)
		}
		method := strings.ToUpper(params["method"])
		if method == "" {
			if cal, err := Parse(b); err == nil {
				if p := cal.Props.Get(ical.PropMethod); p != nil {
					method = strings.ToUpper(p.Value)
				}
			}
		}
		return b, method, nil
	}
	return nil, "", fmt.Errorf("calendar: iMIP: no text/calendar part")
}

type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// EASMeetingRequest is the email:MeetingRequest element an invitation shows
// as in the Inbox ([MS-ASEMAIL] 2.2.2.48; fact sheet §4).
type EASMeetingRequest struct {
	MessageClass            string // IPM.Schedule.Meeting.Request, .Canceled, IPM.Schedule.Meeting.Resp.Pos/Neg/Tent
	AllDayEvent             bool
	StartTime, EndTime      time.Time
	DtStamp                 time.Time
	TimeZone                TimeZone
	InstanceType            int // 0 single, 1 master, 2 instance, 3 exception, 4 orphan
	Location                string
	Organizer               string // "Name" <addr>
	RecurrenceID            *time.Time
	Recurrence              *EASRecurrence
	Reminder                *int
	ResponseRequested       bool
	Sensitivity             int
	BusyStatus              int // the intended status; 2 by default
	GlobalObjID             string
	UID                     string
	MeetingMessageType      int // 14.1+: 0 none, 1 new, 2 full update, 3 informational update, 4 outdated, 5 delegator copy, 6 don't respond
	DisallowNewTimeProposal bool
	Categories              []string
}

// MeetingRequestFromITIP returns the MeetingRequest of an incoming iTIP
// message for the account. existing is the account's stored copy of the
// same UID (nil when none): it decides MeetingMessageType (new, update,
// informational or outdated) and whether an instance is an exception or an
// orphan.
func MeetingRequestFromITIP(itip []byte, existing []byte, opts EASOptions) (*EASMeetingRequest, error) {
	msg, err := ParseITIP(itip)
	if err != nil {
		return nil, err
	}
	o := msg.Object
	c := o.Primary()
	z := opts.zone()
	mr := &EASMeetingRequest{UID: msg.UID, BusyStatus: 2}
	switch msg.Method {
	case MethodRequest:
		mr.MessageClass = "IPM.Schedule.Meeting.Request"
	case MethodCancel:
		mr.MessageClass = "IPM.Schedule.Meeting.Canceled"
		mr.BusyStatus = 0
	case MethodReply:
		mr.MessageClass = "IPM.Schedule.Meeting.Resp.Tent"
		if len(msg.Attendees) > 0 {
			switch msg.Attendees[0].Status {
			case 3:
				mr.MessageClass = "IPM.Schedule.Meeting.Resp.Pos"
			case 4:
				mr.MessageClass = "IPM.Schedule.Meeting.Resp.Neg"
			}
		}
	default:
		return nil, fmt.Errorf("%w: iTIP method %s has no MeetingRequest", ErrInvalid, msg.Method)
	}
	start, err := o.Start(c)
	if err != nil && start.IsZero() {
		return nil, err
	}
	end, _ := o.End(c, start)
	mr.AllDayEvent = start.IsDate
	mr.StartTime, mr.EndTime = o.easTimes(start, end, opts)
	mr.DtStamp = msg.DTStamp
	if mr.DtStamp.IsZero() {
		mr.DtStamp = opts.now().UTC()
	}
	mr.TimeZone = o.blobFor(start, start.Instant(z), opts)
	if v, ok := propText(c, ical.PropLocation); ok {
		mr.Location = v
	}
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		a := mail.Address{Name: p.Params.Get(ical.ParamCommonName), Address: mailAddr(p.Value)}
		mr.Organizer = a.String()
	}
	if r, ok := reminderOf(c, start, end, z); ok {
		mr.Reminder = Ptr(r)
	}
	if p := o.accountAttendee(c, opts.Account); p != nil {
		mr.ResponseRequested = !strings.EqualFold(p.Params.Get(ical.ParamRSVP), "FALSE")
	}
	mr.Sensitivity = sensitivityOf(c)
	if v, ok := propText(c, "X-MICROSOFT-CDO-INTENDEDSTATUS"); ok {
		if i := indexOf(busyNames, strings.ToUpper(v)); i >= 0 {
			mr.BusyStatus = i
		}
	} else if v, ok := propText(c, ical.PropTransparency); ok && strings.EqualFold(v, "TRANSPARENT") {
		mr.BusyStatus = 0
	}
	if p := c.Props.Get(propNoCounter); p != nil {
		mr.DisallowNewTimeProposal = strings.EqualFold(p.Value, "TRUE")
	}
	mr.Categories = categoriesOf(c)
	var prev *Object
	if len(existing) > 0 {
		if prev, err = ParseObject(existing); err != nil {
			prev = nil
		}
	}
	// InstanceType, RecurrenceId and Recurrences.
	var instDate time.Time
	switch {
	case msg.RecurrenceID != nil:
		rid := *msg.RecurrenceID
		t := o.instanceID(rid, rid, opts)
		mr.RecurrenceID = &t
		instDate = rid.Wall
		mr.InstanceType = 4
		if prev != nil && prev.isRecurring() {
			mr.InstanceType = 3
		}
	case c.Props.Get(ical.PropRecurrenceRule) != nil:
		mr.InstanceType = 1
		if rule, err := ParseRule(c.Props.Get(ical.PropRecurrenceRule).Value); err == nil {
			mr.Recurrence, _ = RecurrenceFromRule(rule, start, opts.Version, z)
		}
	}
	mr.GlobalObjID = GlobalObjIDFromUID(msg.UID, instDate)
	// MeetingMessageType (14.1+): respond only to 1 and 2.
	if msg.Method == MethodRequest && opts.Version >= V141 {
		switch {
		case opts.Account != "" && sameAddr(msg.Organizer, opts.Account):
			mr.MeetingMessageType = 6
		case prev == nil:
			mr.MeetingMessageType = 1
		default:
			pc := prev.Primary()
			if msg.RecurrenceID != nil {
				if ov := prev.Override(*msg.RecurrenceID, z); ov != nil {
					pc = ov
				}
			}
			ps, ns := sequenceOf(pc), msg.Sequence
			var pstamp time.Time
			if p := pc.Props.Get(ical.PropDateTimeStamp); p != nil {
				if d, err := prev.Zones.DateTimeOf(p); err == nil {
					pstamp = d.Instant(nil)
				}
			}
			switch {
			case ns < ps || ns == ps && !msg.DTStamp.IsZero() && msg.DTStamp.Before(pstamp):
				mr.MeetingMessageType = 4
			case ns == ps:
				mr.MeetingMessageType = 3
			default:
				mr.MeetingMessageType = 2
			}
		}
	}
	return mr, nil
}
