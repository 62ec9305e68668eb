//go:build !race

package ldapserver

const raceEnabled = false
