// Package store is Gatehouse's groupware store: accounts, folders, items (mail as
// byte-exact blobs, PIM items as their canonical iCalendar/vCard text), tombstones, the
// MAPI property bag, and the change feed. It is the only package that touches SQL or
// blob files; every front end is a view of it.
//
// Invariants a newcomer must not break (DESIGN.md §2):
//
//   - One mutation is one short transaction on the single writer. It takes the next
//     value of the account's modseq counter inside the transaction, stamps every row it
//     touches with it and raises the folder's highest_modseq, so per account commit
//     order equals modseq order. Concurrent mutations are group-committed, each in its
//     own savepoint. Parsing and blob fsyncs happen before the transaction.
//   - A delta is the live items plus the tombstones above a modseq, read in one snapshot
//     with the new watermark, through (account_id, folder_id, modseq) indexes.
//   - UIDs per folder strictly increase and are never reused (uidnext only grows); a
//     move or a content replacement leaves a tombstone with the old uid and gives the
//     item a new uid, keeping its id. A recreated folder gets a new uidvalidity.
//   - The change feed carries hints, published after commit; listeners re-query.
//   - A blob file is durable before the row that references it commits, and is unlinked
//     only from inside the writer, after its count has been zero for the grace period.
//     Small blobs have no file: their bytes are in the blob row (DefaultInlineBlobMax),
//     durable with the same commit.
//   - Every call is scoped by a Principal; what it cannot reach is ErrNotFound.
//   - Never hold a read transaction while writing to the network.
package store
