// Package smtp is Gatehouse's SMTP front end: the inbound MX (port 25) and
// authenticated submission (587 with STARTTLS, 465 with implicit TLS), built on
// github.com/emersion/go-smtp (imported as gosmtp). Outbound delivery lives in
// smtp/queue.
//
// Invariants a newcomer must not break:
//
//   - 250 after DATA/BDAT LAST only once store.Accept has returned, that is
//     once the commit holding the local items and the queue entry is durable (DESIGN.md
//     §2 invariant 6); that commit follows the blob's fsyncs. Local and remote
//     recipients of one message are stored in that one mutation, so a crash never
//     keeps half of an accepted message.
//   - No open relay: a recipient outside the hosted domains is accepted only from an
//     authenticated session. Addresses are judged after go-smtp has parsed them (source
//     route dropped, quoted local part unquoted); anything that is not a plain
//     local@domain with a valid DNS domain is refused (address.go, with a table test
//     of the relay tricks and a fuzz target).
//   - Unknown local recipients are refused at RCPT (550 5.1.1), never accepted and
//     bounced later.
//   - A submission user may use as envelope sender only an address that resolves to
//     their own account (553 5.7.1).
//   - Store errors become SMTP replies in one place, errors.go.
package smtp
