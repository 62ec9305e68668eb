package ldapserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Bounds on what a client may send. Requests are small (a search is a few hundred
// bytes); writes, which carry photos, are refused anyway.
const (
	maxMessageSize = 1 << 20 // one LDAPMessage
	maxDepth       = 32      // BER nesting: a filter of and/or/not deeper than ~28 is refused
	maxElements    = 20000   // BER elements in one message
	maxAttrs       = 256     // attributes requested by one search
)

// errProtocol marks a request the server cannot parse: the answer is protocolError,
// then (for framing errors) a Notice of Disconnection.
var errProtocol = errors.New("protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProtocol}, args...)...)
}

// readFrame reads one LDAPMessage's bytes (RFC 4511 5.1: definite lengths only),
// refusing any length over maxMessageSize before allocating.
func readFrame(r *bufio.Reader) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 { // universal constructed SEQUENCE
		return nil, protoErr("message is not a SEQUENCE (tag %#x)", tag)
	}
	l0, err := r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	hdr := []byte{tag, l0}
	var n int
	switch {
	case l0 < 0x80:
		n = int(l0)
	case l0 == 0x80:
		return nil, protoErr("indefinite length")
	default:
		k := int(l0 & 0x7f)
		if k > 4 {
			return nil, protoErr("length of %d bytes", k)
		}
		for range k {
			b, err := r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			hdr = append(hdr, b)
			n = n<<8 | int(b)
		}
	}
	if n > maxMessageSize {
		return nil, protoErr("message of %d bytes", n)
	}
	buf := make([]byte, len(hdr)+n)
	copy(buf, hdr)
	if _, err := io.ReadFull(r, buf[len(hdr):]); err != nil {
		return nil, unexpected(err)
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkShape walks the BER structure iteratively (never recursing on the client's
// nesting) and refuses indefinite lengths, lengths overrunning their parent, nesting
// deeper than maxDepth and more than maxElements elements, so that the decoder that runs
// afterwards only sees bounded input.
func checkShape(b []byte) error {
	var ends [maxDepth + 1]int
	depth := 0
	ends[0] = len(b)
	elems := 0
	for i := 0; i < len(b); {
		for depth > 0 && i == ends[depth] {
			depth--
		}
		if elems++; elems > maxElements {
			return protoErr("more than %d elements", maxElements)
		}
		tag := b[i]
		i++
		if tag&0x1f == 0x1f { // high tag number form
			for k := 0; ; k++ {
				if i >= len(b) || k > 3 {
					return protoErr("bad tag")
				}
				c := b[i]
				i++
				if c&0x80 == 0 {
					break
				}
			}
		}
		if i >= len(b) {
			return protoErr("truncated")
		}
		l0 := b[i]
		i++
		var n int
		switch {
		case l0 < 0x80:
			n = int(l0)
		case l0 == 0x80:
			return protoErr("indefinite length")
		default:
			k := int(l0 & 0x7f)
			if k > 4 || i+k > len(b) {
				return protoErr("bad length")
			}
			for range k {
				n = n<<8 | int(b[i])
				i++
			}
		}
		if n < 0 || n > ends[depth]-i {
			return protoErr("length overruns its container")
		}
		if tag&0x20 != 0 { // constructed
			if depth == maxDepth {
				return protoErr("nested deeper than %d", maxDepth)
			}
			depth++
			ends[depth] = i + n
		} else {
			i += n
		}
		for depth > 0 && i == ends[depth] {
			depth--
		}
	}
	return nil
}

// Request is one decoded LDAPMessage (RFC 4511 4.1.1).
type Request struct {
	ID       int64
	Op       ber.Tag // the protocolOp's application tag (ldap.Application…)
	Controls []Control

	Bind     *BindRequest
	Search   *SearchRequest
	Extended *ExtendedRequest
	Compare  *CompareRequest
	// AbandonID is the message abandoned by an AbandonRequest.
	AbandonID int64
}

// Control is a request control (RFC 4511 4.1.11).
type Control struct {
	OID      string
	Critical bool
	Value    []byte
	HasValue bool
}

// BindRequest (RFC 4511 4.2). Only simple authentication carries a password.
type BindRequest struct {
	Version  int64
	Name     string
	Simple   bool
	Password string
	SASLMech string
}

// SearchRequest (RFC 4511 4.5.1).
type SearchRequest struct {
	Base       string
	Scope      int64
	Deref      int64
	SizeLimit  int64
	TimeLimit  int64
	TypesOnly  bool
	Filter     *Filter
	Attributes []string

	sel *selection // the attribute selection, interpreted once
}

// ExtendedRequest (RFC 4511 4.12).
type ExtendedRequest struct {
	Name     string
	Value    []byte
	HasValue bool
}

// CompareRequest (RFC 4511 4.10).
type CompareRequest struct {
	DN    string
	Attr  string
	Value string
}

// Filter choices (RFC 4511 4.5.1.7), by context tag.
const (
	FilterAnd        = ldap.FilterAnd
	FilterOr         = ldap.FilterOr
	FilterNot        = ldap.FilterNot
	FilterEquality   = ldap.FilterEqualityMatch
	FilterSubstrings = ldap.FilterSubstrings
	FilterGreater    = ldap.FilterGreaterOrEqual
	FilterLess       = ldap.FilterLessOrEqual
	FilterPresent    = ldap.FilterPresent
	FilterApprox     = ldap.FilterApproxMatch
	FilterExtensible = ldap.FilterExtensibleMatch
)

// Filter is a decoded search filter.
type Filter struct {
	Op       int
	Children []*Filter // and, or; not has one
	Attr     string
	Value    string // equality, >=, <=, approx, extensible
	Initial  string // substrings
	Any      []string
	Final    string
}

// DecodeRequest decodes one LDAPMessage. Every error wraps errProtocol.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) > maxMessageSize+6 {
		return nil, protoErr("message too long")
	}
	if err := checkShape(b); err != nil {
		return nil, err
	}
	p, err := ber.DecodePacketErr(b)
	if err != nil {
		return nil, protoErr("%v", err)
	}
	if p.ClassType != ber.ClassUniversal || p.TagType != ber.TypeConstructed || p.Tag != ber.TagSequence || len(p.Children) < 2 {
		return nil, protoErr("not an LDAPMessage")
	}
	id, err := intOf(p.Children[0], ber.ClassUniversal, ber.TagInteger)
	if err != nil || id < 0 || id > 1<<31-1 {
		return nil, protoErr("bad messageID")
	}
	op := p.Children[1]
	if op.ClassType != ber.ClassApplication {
		return nil, protoErr("protocolOp is not an application tag")
	}
	req := &Request{ID: id, Op: op.Tag}
	if len(p.Children) > 2 {
		c := p.Children[2]
		if c.ClassType != ber.ClassContext || c.Tag != 0 || c.TagType != ber.TypeConstructed {
			return nil, protoErr("bad controls")
		}
		for _, cp := range c.Children {
			ctl, err := decodeControl(cp)
			if err != nil {
				return nil, err
			}
			req.Controls = append(req.Controls, ctl)
		}
	}
	switch op.Tag {
	case ldap.ApplicationBindRequest:
		req.Bind, err = decodeBind(op)
	case ldap.ApplicationUnbindRequest:
	case ldap.ApplicationSearchRequest:
		req.Search, err = decodeSearch(op)
	case ldap.ApplicationAbandonRequest:
		if op.TagType != ber.TypePrimitive {
			return nil, protoErr("bad abandon")
		}
		req.AbandonID, err = ber.ParseInt64(op.Data.Bytes())
	case ldap.ApplicationExtendedRequest:
		req.Extended, err = decodeExtended(op)
	case ldap.ApplicationCompareRequest:
		req.Compare, err = decodeCompare(op)
	case ldap.ApplicationModifyRequest, ldap.ApplicationAddRequest, ldap.ApplicationDelRequest,
		ldap.ApplicationModifyDNRequest:
		// Writes are refused without looking further.
	default:
		return nil, protoErr("unknown operation %d", op.Tag)
	}
	if err != nil {
		if !errors.Is(err, errProtocol) {
			err = protoErr("%v", err)
		}
		return nil, err
	}
	return req, nil
}

// bytesOf returns a primitive element's content.
func bytesOf(p *ber.Packet) ([]byte, error) {
	if p.TagType != ber.TypePrimitive {
		return nil, protoErr("constructed where primitive expected")
	}
	if p.Data == nil {
		return nil, nil
	}
	return p.Data.Bytes(), nil
}

func stringOf(p *ber.Packet, class ber.Class, tag ber.Tag) (string, error) {
	if p.ClassType != class || p.Tag != tag {
		return "", protoErr("unexpected element %d/%d", p.ClassType, p.Tag)
	}
	b, err := bytesOf(p)
	return string(b), err
}

func intOf(p *ber.Packet, class ber.Class, tag ber.Tag) (int64, error) {
	if p.ClassType != class || p.Tag != tag {
		return 0, protoErr("unexpected element %d/%d", p.ClassType, p.Tag)
	}
	b, err := bytesOf(p)
	if err != nil {
		return 0, err
	}
	if len(b) == 0 || len(b) > 8 {
		return 0, protoErr("bad integer")
	}
	return ber.ParseInt64(b)
}

func boolOf(p *ber.Packet) (bool, error) {
	if p.ClassType != ber.ClassUniversal || p.Tag != ber.TagBoolean {
		return false, protoErr("expected BOOLEAN")
	}
	b, err := bytesOf(p)
	if err != nil || len(b) != 1 {
		return false, protoErr("bad BOOLEAN")
	}
	return b[0] != 0, nil
}

func decodeControl(p *ber.Packet) (Control, error) {
	if p.Tag != ber.TagSequence || p.TagType != ber.TypeConstructed || len(p.Children) < 1 || len(p.Children) > 3 {
		return Control{}, protoErr("bad control")
	}
	oid, err := stringOf(p.Children[0], ber.ClassUniversal, ber.TagOctetString)
	if err != nil {
		return Control{}, err
	}
	c := Control{OID: oid}
	for _, ch := range p.Children[1:] {
		switch {
		case ch.ClassType == ber.ClassUniversal && ch.Tag == ber.TagBoolean:
			if c.Critical, err = boolOf(ch); err != nil {
				return c, err
			}
		case ch.ClassType == ber.ClassUniversal && ch.Tag == ber.TagOctetString:
			if c.Value, err = bytesOf(ch); err != nil {
				return c, err
			}
			c.HasValue = true
		default:
			return c, protoErr("bad control")
		}
	}
	return c, nil
}

func decodeBind(op *ber.Packet) (*BindRequest, error) {
	if op.TagType != ber.TypeConstructed || len(op.Children) != 3 {
		return nil, protoErr("bad bind")
	}
	v, err := intOf(op.Children[0], ber.ClassUniversal, ber.TagInteger)
	if err != nil {
		return nil, err
	}
	name, err := stringOf(op.Children[1], ber.ClassUniversal, ber.TagOctetString)
	if err != nil {
		return nil, err
	}
	b := &BindRequest{Version: v, Name: name}
	auth := op.Children[2]
	switch {
	case auth.ClassType == ber.ClassContext && auth.Tag == 0:
		pw, err := bytesOf(auth)
		if err != nil {
			return nil, err
		}
		b.Simple, b.Password = true, string(pw)
	case auth.ClassType == ber.ClassContext && auth.Tag == 3 && auth.TagType == ber.TypeConstructed && len(auth.Children) > 0:
		b.SASLMech, err = stringOf(auth.Children[0], ber.ClassUniversal, ber.TagOctetString)
		if err != nil {
			return nil, err
		}
		if b.SASLMech == "" {
			b.SASLMech = "?"
		}
	default:
		return nil, protoErr("bad authentication choice")
	}
	return b, nil
}

func decodeSearch(op *ber.Packet) (*SearchRequest, error) {
	if op.TagType != ber.TypeConstructed || len(op.Children) != 8 {
		return nil, protoErr("bad search")
	}
	c := op.Children
	s := &SearchRequest{}
	var err error
	if s.Base, err = stringOf(c[0], ber.ClassUniversal, ber.TagOctetString); err != nil {
		return nil, err
	}
	if s.Scope, err = intOf(c[1], ber.ClassUniversal, ber.TagEnumerated); err != nil {
		return nil, err
	}
	if s.Deref, err = intOf(c[2], ber.ClassUniversal, ber.TagEnumerated); err != nil {
		return nil, err
	}
	if s.SizeLimit, err = intOf(c[3], ber.ClassUniversal, ber.TagInteger); err != nil {
		return nil, err
	}
	if s.TimeLimit, err = intOf(c[4], ber.ClassUniversal, ber.TagInteger); err != nil {
		return nil, err
	}
	if s.TypesOnly, err = boolOf(c[5]); err != nil {
		return nil, err
	}
	if s.Scope < 0 || s.Scope > 3 || s.Deref < 0 || s.Deref > 3 || s.SizeLimit < 0 || s.TimeLimit < 0 {
		return nil, protoErr("search parameter out of range")
	}
	if s.Filter, err = decodeFilter(c[6], 0); err != nil {
		return nil, err
	}
	attrs := c[7]
	if attrs.Tag != ber.TagSequence || attrs.TagType != ber.TypeConstructed || len(attrs.Children) > maxAttrs {
		return nil, protoErr("bad attribute list")
	}
	for _, a := range attrs.Children {
		name, err := stringOf(a, ber.ClassUniversal, ber.TagOctetString)
		if err != nil {
			return nil, err
		}
		s.Attributes = append(s.Attributes, name)
	}
	return s, nil
}

// decodeFilter converts a filter; depth is bounded by checkShape, and checked again.
func decodeFilter(p *ber.Packet, depth int) (*Filter, error) {
	if depth > maxDepth || p.ClassType != ber.ClassContext {
		return nil, protoErr("bad filter")
	}
	f := &Filter{Op: int(p.Tag)}
	var err error
	switch f.Op {
	case FilterAnd, FilterOr:
		if p.TagType != ber.TypeConstructed {
			return nil, protoErr("bad filter set")
		}
		for _, ch := range p.Children {
			cf, err := decodeFilter(ch, depth+1)
			if err != nil {
				return nil, err
			}
			f.Children = append(f.Children, cf)
		}
	case FilterNot:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 1 {
			return nil, protoErr("bad not filter")
		}
		cf, err := decodeFilter(p.Children[0], depth+1)
		if err != nil {
			return nil, err
		}
		f.Children = []*Filter{cf}
	case FilterEquality, FilterGreater, FilterLess, FilterApprox:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 2 {
			return nil, protoErr("bad attribute value assertion")
		}
		if f.Attr, err = stringOf(p.Children[0], ber.ClassUniversal, ber.TagOctetString); err != nil {
			return nil, err
		}
		if f.Value, err = stringOf(p.Children[1], ber.ClassUniversal, ber.TagOctetString); err != nil {
			return nil, err
		}
	case FilterSubstrings:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 2 {
			return nil, protoErr("bad substring filter")
		}
		if f.Attr, err = stringOf(p.Children[0], ber.ClassUniversal, ber.TagOctetString); err != nil {
			return nil, err
		}
		subs := p.Children[1]
		if subs.Tag != ber.TagSequence || subs.TagType != ber.TypeConstructed || len(subs.Children) == 0 {
			return nil, protoErr("bad substrings")
		}
		// RFC 4511 4.5.1.7.2: at most one initial (first) and one final (last).
		for i, s := range subs.Children {
			if s.ClassType != ber.ClassContext {
				return nil, protoErr("bad substring")
			}
			v, err := bytesOf(s)
			if err != nil {
				return nil, err
			}
			switch s.Tag {
			case 0:
				if i != 0 {
					return nil, protoErr("initial substring not first")
				}
				f.Initial = string(v)
			case 1:
				f.Any = append(f.Any, string(v))
			case 2:
				if i != len(subs.Children)-1 {
					return nil, protoErr("final substring not last")
				}
				f.Final = string(v)
			default:
				return nil, protoErr("bad substring choice")
			}
		}
	case FilterPresent:
		if f.Attr, err = stringOf(p, ber.ClassContext, ber.Tag(FilterPresent)); err != nil {
			return nil, err
		}
	case FilterExtensible:
		// MatchingRuleAssertion: evaluated as Undefined (we implement no extensible rule).
		if p.TagType != ber.TypeConstructed {
			return nil, protoErr("bad extensible match")
		}
	default:
		return nil, protoErr("unknown filter choice %d", f.Op)
	}
	return f, nil
}

func decodeExtended(op *ber.Packet) (*ExtendedRequest, error) {
	if op.TagType != ber.TypeConstructed || len(op.Children) < 1 || len(op.Children) > 2 {
		return nil, protoErr("bad extended request")
	}
	name, err := stringOf(op.Children[0], ber.ClassContext, 0)
	if err != nil {
		return nil, err
	}
	e := &ExtendedRequest{Name: name}
	if len(op.Children) == 2 {
		if e.Value, err = bytesOf(op.Children[1]); err != nil {
			return nil, err
		}
		if op.Children[1].ClassType != ber.ClassContext || op.Children[1].Tag != 1 {
			return nil, protoErr("bad extended request value")
		}
		e.HasValue = true
	}
	return e, nil
}

func decodeCompare(op *ber.Packet) (*CompareRequest, error) {
	if op.TagType != ber.TypeConstructed || len(op.Children) != 2 {
		return nil, protoErr("bad compare")
	}
	dn, err := stringOf(op.Children[0], ber.ClassUniversal, ber.TagOctetString)
	if err != nil {
		return nil, err
	}
	ava := op.Children[1]
	if ava.TagType != ber.TypeConstructed || len(ava.Children) != 2 {
		return nil, protoErr("bad compare assertion")
	}
	c := &CompareRequest{DN: dn}
	if c.Attr, err = stringOf(ava.Children[0], ber.ClassUniversal, ber.TagOctetString); err != nil {
		return nil, err
	}
	if c.Value, err = stringOf(ava.Children[1], ber.ClassUniversal, ber.TagOctetString); err != nil {
		return nil, err
	}
	return c, nil
}

// pagedControl decodes the paged results control value (RFC 2696):
// realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }.
func pagedControl(v []byte) (size int64, cookie []byte, err error) {
	if err := checkShape(v); err != nil {
		return 0, nil, err
	}
	p, err := ber.DecodePacketErr(v)
	if err != nil || p.Tag != ber.TagSequence || p.TagType != ber.TypeConstructed || len(p.Children) != 2 {
		return 0, nil, protoErr("bad paged results control")
	}
	if size, err = intOf(p.Children[0], ber.ClassUniversal, ber.TagInteger); err != nil || size < 0 {
		return 0, nil, protoErr("bad paged results size")
	}
	if p.Children[1].Tag != ber.TagOctetString {
		return 0, nil, protoErr("bad paged results cookie")
	}
	cookie, err = bytesOf(p.Children[1])
	return size, cookie, err
}
