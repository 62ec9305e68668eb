package message

import (
	"io"
	"strings"
)

// SearchText is the text a search of a message's body looks through: the decoded text
// of every text/* leaf and of status parts such as message/delivery-status (transfer
// encoding and charset undone), those of attached messages included, HTML rendered as a reader sees it (HTMLToText), one part per
// line. It is the one definition for IMAP SEARCH BODY/TEXT (RFC 9051 6.4.4) and the
// full-text index that pre-filters them, so that the index never leaves out a message
// the search would find. r holds the raw message root was parsed from; limit > 0
// stops after about that many bytes. A part that cannot be read is skipped.
func SearchText(r io.ReaderAt, root *Part, limit int) string {
	var b strings.Builder
	var walk func(p *Part)
	walk = func(p *Part) {
		switch {
		case p == nil || limit > 0 && b.Len() >= limit:
		case p.Type == "multipart":
			for _, c := range p.Children {
				walk(c)
			}
		case p.Message != nil:
			walk(p.Message.Structure)
		case p.Type == "text" || p.Type == "message":
			// message/* that is not a message read as one: delivery-status,
			// disposition-notification and the like are text to a reader.
			if p.End < p.BodyStart || p.BodyStart < 0 {
				return
			}
			size, room := p.End-p.BodyStart, 0
			if limit > 0 {
				// An encoded form is at most three times its text (quoted-printable).
				room = limit - b.Len()
				size = min(size, 3*int64(room)+4)
			}
			body := make([]byte, size)
			if n, err := r.ReadAt(body, p.BodyStart); n < len(body) && err != nil {
				return
			}
			local := *p // offsets relative to body
			local.BodyStart, local.End = 0, int64(len(body))
			txt := local.DecodedText(body)
			if p.Subtype == "html" {
				txt = HTMLToText(txt, room)
			}
			b.WriteString(txt)
			b.WriteByte('\n')
		}
	}
	walk(root)
	return b.String()
}
