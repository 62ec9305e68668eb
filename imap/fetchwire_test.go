package imap

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// msgIDShape is the id-left@id-right (RFC 5322 3.6.4, dot-atom forms) the client reads.
var msgIDShape = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9.-]+$`)

// readBackWithClient serves line (one untagged FETCH) to go-imap's client as the answer
// to its FETCH and returns what the client parsed.
func readBackWithClient(t *testing.T, line []byte) *imapclient.FetchMessageBuffer {
	t.Helper()
	srv, cli := net.Pipe()
	defer srv.Close()
	go func() {
		r := bufio.NewReader(srv)
		srv.Write([]byte("* OK [CAPABILITY IMAP4rev1] ready\r\n"))
		cmd, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, _, _ := strings.Cut(cmd, " ")
		srv.Write(line)
		srv.Write([]byte(tag + " OK done\r\n"))
		r.ReadString('\n') // until the client goes
	}()
	c := imapclient.New(cli, nil)
	defer c.Close()
	msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("client read %q: %d messages, %v", line, len(msgs), err)
	}
	return msgs[0]
}

// FuzzAppendViewFetch: what appendViewFetch writes, go-imap's client (code nobody here
// wrote) reads back as the same message data. TestEnvelopeCacheWire checks the bytes
// against the library's server encoder on the corpus; this one covers odd strings
// (quotes, backslashes, 8-bit text as literals, the 4,096-byte quoted limit).
func FuzzAppendViewFetch(f *testing.F) {
	f.Add("Quarterly report", "Alice Example", "alice", "example.org", "id1@example.org", "p@example.org", uint32(7))
	f.Add(`say "hi" \ there`, `Back\slash "Q"`, "q", "example.org", "b@example.org", "", uint32(1))
	f.Add("Grüße aus Köln", "Jörg", "jörg", "exämple.org", "id@bücher.example", "", uint32(42))
	f.Add(strings.Repeat("long ", 1000), "", "a", "example.org", "", "", uint32(3))
	f.Fuzz(func(t *testing.T, subject, name, mailbox, host, msgID, irt string, uid uint32) {
		// What the store can hold: unfolded UTF-8 header text; ids without brackets or
		// spaces; text the client would not take for RFC 2047 words of its own.
		for _, s := range []string{subject, name, mailbox, host, msgID, irt} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") || strings.Contains(s, "=?") {
				return
			}
		}
		for _, s := range []string{mailbox, host, msgID, irt} {
			if strings.ContainsAny(s, " \t<>()") || strings.TrimSpace(s) != s {
				return
			}
		}
		for _, id := range []string{msgID, irt} {
			if id != "" && !msgIDShape.MatchString(id) {
				return // the client's msg-id reader gives up on other shapes; the wire test covers quoting
			}
		}
		if strings.TrimSpace(subject) != subject || strings.TrimSpace(name) != name || mailbox == "" || host == "" || uid == 0 {
			return
		}
		env := goimap.Envelope{
			Date:      time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("", -5*3600)),
			Subject:   subject,
			From:      []goimap.Address{{Name: name, Mailbox: mailbox, Host: host}},
			To:        []goimap.Address{{Mailbox: "bob", Host: "example.com"}},
			MessageID: msgID,
		}
		if irt != "" {
			env.InReplyTo = []string{irt}
		}
		e := &cachedMsg{env: env, idate: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).Unix(), size: 1234}
		opts := &goimap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true}
		line := appendViewFetch(nil, 1, uid, opts, nil, []goimap.Flag{goimap.FlagSeen, "$Work"}, e, false)
		m := readBackWithClient(t, line)
		got := m.Envelope
		switch {
		case m.UID != goimap.UID(uid) || m.RFC822Size != 1234 || !m.InternalDate.Equal(e.internalDate()):
			t.Errorf("%q: uid %d size %d date %v", line, m.UID, m.RFC822Size, m.InternalDate)
		case !slices.Equal(m.Flags, []goimap.Flag{goimap.FlagSeen, "$Work"}):
			t.Errorf("%q: flags %v", line, m.Flags)
		case got == nil || !got.Date.Equal(env.Date) || got.Subject != subject || got.MessageID != msgID:
			t.Errorf("%q: envelope %+v", line, got)
		case len(got.From) != 1 || got.From[0] != env.From[0] || len(got.Sender) != 1 || got.Sender[0] != env.From[0]:
			t.Errorf("%q: from %+v sender %+v", line, got.From, got.Sender)
		case !slices.Equal(got.InReplyTo, env.InReplyTo):
			t.Errorf("%q: in-reply-to %q", line, got.InReplyTo)
		}
	})
}

// Offsets past a message's end (a damaged index) read what there is, never zeros or
// an error that would leave a literal short of its announced length.
func TestReadRangeClipped(t *testing.T) {
	b := bytesBlob{bytes.NewReader([]byte("Subject: x\r\n\r\nbody"))}
	for _, c := range []struct {
		start, end int64
		want       string
	}{{0, 12, "Subject: x\r\n"}, {14, 99, "body"}, {30, 40, ""}, {5, 2, ""}} {
		got, err := readRange(b, c.start, c.end)
		if err != nil || string(got) != c.want {
			t.Errorf("readRange(%d, %d) = %q, %v; want %q", c.start, c.end, got, err, c.want)
		}
	}
}
