// Package e2e holds cross-protocol end-to-end tests: a whole Gatehouse on loopback
// ports, changed through one front end and observed through another, with client code
// nobody here wrote (go-smtp's client, go-imap's imapclient).
package e2e
