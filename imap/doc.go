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
//     applies the store's delta since the view's modseq (MailFlagDelta, the columns IMAP
//     needs) and queues updates on the library's
//     MailboxTracker. Every session therefore sees each change exactly once, whichever
//     session or protocol made it; a session's own STORE is not echoed to itself.
//   - Nothing polls on a timer: a goroutine per open mailbox wakes on the store's change
//     feed, and Poll (after each command) re-applies the delta so that a change
//     committed before a command is reported by it.
//   - The view also holds each message's flags (changed by sync together with the
//     update it queues, so FETCH FLAGS from the view agree with the tracker) and an
//     envelope cache (envcache.go): decoded ENVELOPE, INTERNALDATE and RFC822.SIZE by
//     position parallel to the uids, and the result of one header-fields section.
//     A uid's content never changes, so an entry is never stale: it is dropped on
//     EXPUNGE of its uid (syncFrom must keep uids, flags and entries parallel), when
//     the mailbox is released, or when the server-wide budget
//     (Options.EnvelopeCacheBytes) evicts a whole mailbox's cache, least recently
//     used first; and replaced whole (never changed in place: sessions read entries
//     without the lock) when a FETCH asks for another field set. A FETCH of only
//     those items (and of one BODY.PEEK[HEADER.FIELDS (...)] of the whole message)
//     reads no rows for cached messages; its answer is encoded by fetchwire.go, byte
//     for byte what the library's FetchResponseWriter would write (tested over the
//     corpus in both UTF-8 modes), and written to the library's connection whole,
//     which relies on the library flushing its own buffer at the end of every
//     response line.
//   - FETCH never re-parses a message: ENVELOPE and BODYSTRUCTURE come from the parse
//     stored at delivery, sections are read from the blob at the stored offsets, and no
//     read transaction is held while writing to the client.
//   - APPEND goes through store.Deliver, the one delivery path.
//   - A command's responses are corked (cork.go): written in a few large writes at its
//     end, never held across a read from the client or outside a command.
//   - SEARCH evaluates every key in Go (search.go); the store only narrows what is
//     read: criteria of only flag, keyword and set keys are answered from the view's
//     flags, other system-flag keys become SQL, BODY keys go through the store's full-text
//     index (store.MatchMailUIDs) and the candidates are then checked for the
//     substring. A deliberate difference, as with Dovecot's full-text search: a BODY
//     string found only inside a word ("ebr" in "zebra") does not match.
//   - Store errors become IMAP responses in one place (session.imapError).
package imap
