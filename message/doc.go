// Package message parses an RFC 5322 / MIME message once, at delivery, into
// what every front end needs: the IMAP envelope and body structure, the
// decoded text and HTML bodies, the attachments, a preview and a thread key.
// IMAP answers ENVELOPE, BODYSTRUCTURE and BODY[section] from the stored
// result without parsing again; ActiveSync and SMTP use the same result.
//
// It is a leaf: it imports only the standard library, go-message (for its
// charset tables) and golang.org/x/text, and nothing else of Gatehouse.
//
// # Parse never fails
//
// Mail from the Internet is often malformed. Parse always returns a result:
// a missing boundary parameter or delimiter makes a multipart text/plain
// (RFC 2045 5.2), a missing closing delimiter ends the last part at the end
// of its parent, a line that is not a header field ends the header, an
// unknown charset is read as UTF-8, and so on. Each such repair is described
// in Parsed.Problems. Nesting deeper than MaxDepth and more than MaxParts
// parts are not expanded, so hostile input costs bounded time and memory.
//
// # The offsets invariant
//
// Every Part records where it lies in the raw message as byte offsets, which
// must stay exact: the store keeps the raw message as one immutable blob and
// IMAP serves BODY[section], RFC822.SIZE and DKIM sees those very bytes.
// For every Part p of a message raw:
//
//	0 <= p.HeaderStart <= p.BodyStart <= p.End <= len(raw)
//	p.Size == p.End - p.BodyStart
//	raw[p.HeaderStart:p.BodyStart] is the header, with its empty line
//	raw[p.BodyStart:p.End] is the body, still transfer-encoded
//
// (A header that runs to the end of the entity, or that ends at a line that
// is not a header field, has no empty line; BodyStart is then End or the
// start of that line.)
// and every child c of a multipart p, and the Structure s of an encapsulated
// message in a message/rfc822 part p, lie inside p's body, in order and
// without overlap:
//
//	p.BodyStart <= c.HeaderStart, c.End <= p.End, c[i].End <= c[i+1].HeaderStart
//	s.HeaderStart == p.BodyStart, s.End == p.End
//
// A part's End excludes the line break before the following boundary
// delimiter, which belongs to the delimiter (RFC 2046 5.1.1). Line breaks are
// counted as they are in raw, CRLF or bare LF: nothing is normalized, so the
// offsets are only valid against the exact bytes that were parsed. The top
// level Structure spans all of raw (HeaderStart 0, End len(raw)).
//
// Part.Find and Part.SectionRange turn IMAP section numbers (RFC 9051 6.4.5)
// into these ranges; FilterHeader serves HEADER.FIELDS.
package message
