//go:build race

package ldapserver

// raceEnabled: the race detector slows the pure-Go SQLite store about tenfold, so the
// paged-results test fills fewer accounts under -race (2,500 otherwise).
const raceEnabled = true
