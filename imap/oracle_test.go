package imap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/gatehouse/gatehouse/store"
)

// describe flattens a body structure into comparable lines: types, transfer encodings
// (absent = 7BIT, RFC 2045 6.1), sizes, file names and the tree shape. Line counts are
// left out: message.Part.Lines counts a last line without its line break, the library
// (and Dovecot) count line breaks, and a part inside a multipart always ends without
// one (the CRLF belongs to the boundary) — a known difference of the message package.
func describe(bs goimap.BodyStructure, path string, out *[]string) {
	switch b := bs.(type) {
	case *goimap.BodyStructureMultiPart:
		*out = append(*out, fmt.Sprintf("%s multipart/%s n=%d", path, strings.ToLower(b.Subtype), len(b.Children)))
		for i, c := range b.Children {
			describe(c, fmt.Sprintf("%s.%d", path, i+1), out)
		}
	case *goimap.BodyStructureSinglePart:
		enc := strings.ToUpper(b.Encoding)
		if enc == "" {
			enc = "7BIT"
		}
		line := fmt.Sprintf("%s %s/%s enc=%s size=%d", path, strings.ToLower(b.Type), strings.ToLower(b.Subtype), enc, b.Size)
		for pk, v := range b.Params {
			if strings.EqualFold(pk, "name") {
				line += " name=" + v
			}
		}
		*out = append(*out, line)
		if b.MessageRFC822 != nil {
			describe(b.MessageRFC822.BodyStructure, path+".m", out)
		}
	}
}

// Messages where the two parsers differ on purpose: malformed MIME that the message
// package repairs differently (documented in message/doc.go), a base64 message/rfc822
// it reports as application/octet-stream, and library shortcomings (multipart/digest
// defaults, unquoted RFC 2231 names, mbox From_ lines).
func envelopeLine(e *goimap.Envelope) string {
	if e == nil {
		return "<nil>"
	}
	addrs := func(as []goimap.Address) string {
		var out []string
		for _, a := range as {
			out = append(out, strings.ToLower(a.Addr()))
		}
		return strings.Join(out, ",")
	}
	return fmt.Sprintf("date=%s subject=%q from=%s sender=%s replyto=%s to=%s cc=%s msgid=%s inreplyto=%v",
		e.Date.UTC().Format(time.RFC3339), e.Subject, addrs(e.From), addrs(e.Sender), addrs(e.ReplyTo), addrs(e.To), addrs(e.Cc), e.MessageID, e.InReplyTo)
}

// Headers in raw 8-bit legacy charsets (or with bare CR) that the message package
// decodes and the library's extractor passes through as bytes.
var rawHeaderCharset = map[string]bool{
	"iso2022jp-raw.eml": true, "koi8r-raw-headers.eml": true, "latin1-headers.eml": true, "mac-cr.eml": true,
}

var oracleSkip = map[string]bool{
	"digest.eml": true, "encoded-message.eml": true, "mbox-from.eml": true, "missing-boundary.eml": true,
	"missing-close.eml": true, "no-header-parts.eml": true, "rfc2231.eml": true,
}

// The body structure served from the parse stored at delivery agrees with the one the
// go-imap library computes by re-parsing the message (an oracle nobody here wrote).
func TestBodyStructureOracle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	files, _ := filepath.Glob("../message/testdata/*.eml")
	if len(files) == 0 {
		t.Skip("no corpus")
	}
	c := e.dial("alice@example.org", nil)
	p := e.principal("alice@example.org")
	for _, f := range files {
		if oracleSkip[filepath.Base(f)] {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.st.Deliver(context.Background(), p, 0, raw, store.DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(goimap.UIDSetNum(goimap.UID(d.UID)), &goimap.FetchOptions{BodyStructure: &goimap.FetchItemBodyStructure{Extended: true}, Envelope: true}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: %v", f, err)
		}
		if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
			want := imapserver.ExtractEnvelope(h)
			// RFC 9051 7.5.2: the server defaults Sender and Reply-To to From; the
			// library's extractor leaves that to the caller.
			if len(want.Sender) == 0 {
				want.Sender = want.From
			}
			if len(want.ReplyTo) == 0 {
				want.ReplyTo = want.From
			}
			if g, w := envelopeLine(msgs[0].Envelope), envelopeLine(want); g != w && !rawHeaderCharset[filepath.Base(f)] {
				t.Errorf("%s envelope:\n got %s\nwant %s", filepath.Base(f), g, w)
			}
		}
		var got, want []string
		describe(msgs[0].BodyStructure, "", &got)
		describe(imapserver.ExtractBodyStructure(bytes.NewReader(raw)), "", &want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", filepath.Base(f), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
