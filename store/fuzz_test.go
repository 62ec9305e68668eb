package store_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// FuzzSplitAddress: addresses come from SMTP envelopes, logins and admin commands.
func FuzzSplitAddress(f *testing.F) {
	for _, s := range []string{"bob@example.org", "Bob@EXAMPLE.org.", "a@b@c", "@x", "x@", `"q"@x.org`, "a@-bad-.org", "ü@bücher.de", strings.Repeat("a", 300) + "@x.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		local, domain, err := store.SplitAddress(addr)
		if err != nil {
			return
		}
		if local == "" || domain == "" || strings.Contains(domain, "@") || domain != store.NormalizeDomain(domain) {
			t.Fatalf("%q split into %q %q", addr, local, domain)
		}
		// Splitting the normalised form again is stable.
		l2, d2, err := store.SplitAddress(local + "@" + domain)
		if err != nil || l2 != local || d2 != domain {
			t.Fatalf("%q not stable: %q %q %v", addr, l2, d2, err)
		}
	})
}

// FuzzParseServerID: ServerIds come from phones.
func FuzzParseServerID(f *testing.F) {
	for _, s := range []string{"1:2", "0:1", "12:-3", "a:b", ":", "1:2:3", "99999999999999999999:1", " 1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sid string) {
		folder, item, err := store.ParseServerID(sid)
		if err != nil {
			return
		}
		if folder <= 0 || item <= 0 {
			t.Fatalf("%q gave %d:%d", sid, folder, item)
		}
		it := store.Item{FolderID: folder, ID: item}
		if len(it.ServerID()) > 64 {
			t.Fatalf("server id over 64 characters")
		}
	})
}
