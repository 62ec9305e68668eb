// Package imap is Gatehouse's IMAP front end: a go-imap/v2 imapserver backend over the
// groupware store, for the imap (STARTTLS) and imaps listeners.
//
// Invariants a newcomer must not break:
//
//   - Only mail-class folders exist over IMAP; names are "/"-separated paths and the
//     inbox-role folder is INBOX. Every store call carries the session's principal, so
//     another account's folders are "not found" whatever the spelling.
//   - A selected folder's server view (its uids in order) is shared by all sessions of
//     the process in one mailbox value and only moves forward through sync, which
//     applies store.Delta since the view's modseq and queues updates on the library's
//     MailboxTracker. Every session therefore sees each change exactly once, whichever
//     session or protocol made it; a session's own STORE is not echoed to itself.
//   - Nothing polls on a timer: a goroutine per open mailbox wakes on the store's change
//     feed, and Poll (after each command) re-applies the delta so that a change
//     committed before a command is reported by it.
//   - FETCH never re-parses a message: ENVELOPE and BODYSTRUCTURE come from the parse
//     stored at delivery, sections are read from the blob at the stored offsets, and no
//     read transaction is held while writing to the client.
//   - APPEND goes through store.Deliver, the one delivery path.
//   - Store errors become IMAP responses in one place (session.imapError).
package imap
