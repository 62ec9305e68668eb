// Package wbxml encodes and decodes the WAP Binary XML that Exchange ActiveSync
// uses for its request and response bodies (Content-Type
// application/vnd.ms-sync.wbxml).
//
// It implements the subset of WBXML 1.3 (WAP-192-WBXML-20010725) that
// [MS-ASWBXML] 2.1.2 prescribes, with the 26 EAS code pages of [MS-ASWBXML]
// 2.1.2.1 (AirSync 0 to Find 25), their tag names and namespace names spelled as
// the specification spells them:
//
//   - header (WBXML 1.3 §5.3): version 0x03, public identifier 0x01 (unknown),
//     charset 0x6A (UTF-8), string table length 0. Encode always writes these
//     four bytes; Decode also accepts versions 1.1 and 1.2, an unspecified
//     charset, and skips a non-empty string table (nothing may refer to it);
//   - SWITCH_PAGE (§5.8.4.7.2), tags with the content bit (§5.8.2) and END;
//   - STR_I inline strings (§5.8.4.1), NUL-terminated UTF-8;
//   - OPAQUE data (§5.8.4.6), a length-prefixed byte string.
//
// Everything else is refused with a SyntaxError: attributes (EAS uses none),
// STR_T string-table references, entities, literal tags, processing
// instructions, extension tokens, unknown code pages and unknown tokens.
//
// A document is a tree of *Node. Invariants a newcomer must not break:
//
//   - An element holds at most one kind of content: children, text or opaque
//     data. Mixed content is refused on both sides, so that
//     Decode(Encode(x)) == x for every tree Encode accepts (the round-trip
//     property the tests check over generated trees and the fuzz target checks
//     over arbitrary input).
//   - Decode is bounded (Limits): nesting depth, element count and document
//     size; a length read from the input is checked against the bytes that
//     remain before anything is allocated for it. Encode refuses trees deeper
//     than the default depth, so what it writes Decode reads.
//   - This package imports only the standard library (internal/archtest).
//
// (*Node).XML renders a tree as XML with namespaces (opaque data in base64) and
// ParseXML reads it back; (*Node).String is the same rendering for debug logs,
// with passwords redacted and large opaque data shown by its length.
//
// The tests compare this codec with an independent implementation, libwbxml's
// xml2wbxml and wbxml2xml (Debian package libwbxml2-utils), in both directions.
package wbxml
