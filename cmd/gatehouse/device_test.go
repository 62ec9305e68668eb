package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestDeviceCommands: `device list` and `device wipe`, first on the store directly, then
// through a running server's control socket. The devices are registered in the store
// as the ActiveSync front end registers them on first contact.
func TestDeviceCommands(t *testing.T) {
	bin, _, data, common := cliSetup(t)

	r := runCmd(t, bin, "pw\n", append([]string{"user", "add", "dora@example.org", "--password-stdin"}, common...)...)
	if r.code != 0 {
		t.Fatalf("user add: %+v", r)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.AccountByEmail(ctx, "dora@example.org")
	if err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: acct.ID}
	if _, err := st.DeviceSeen(ctx, p, "ANDROIDDEV1", "SamsungSMS911B", "Android-SAMSUNG-SM-S911B/101.140", "14.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeviceSeen(ctx, p, "IPHONEDEV2", "iPhone", "Apple-iPhone15C2/2104.219", "16.1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Offline.
	r = runCmd(t, bin, "", append([]string{"device", "list"}, common...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "EMAIL") ||
		!regexp.MustCompile(`dora@example.org\s+ANDROIDDEV1\s+SamsungSMS911B\s+-\s+Android-SAMSUNG-SM-S911B/101.140\s+14.1\s+\S+ \S+\s+never\s+-`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "IPHONEDEV2") {
		t.Fatalf("device list: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"device", "wipe", "dora@example.org", "ANDROIDDEV1", "--account-only"}, common...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "16.1") {
		t.Errorf("account-only wipe of a 14.1 device: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"device", "wipe", "dora@example.org", "ANDROIDDEV1"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "wipe requested for device ANDROIDDEV1") {
		t.Errorf("device wipe: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"device", "wipe", "dora@example.org", "NOSUCH"}, common...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no device NOSUCH") {
		t.Errorf("wipe of an unknown device: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"device", "list", "nobody@example.org"}, common...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no user nobody@example.org") {
		t.Errorf("device list of an unknown user: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"device", "wipe", "dora@example.org"}, common...)...)
	if r.code != 2 {
		t.Errorf("device wipe without a device id: %+v", r)
	}

	// Online: through the control socket.
	serr, stopServer := startServer(t, bin, common)
	r = runCmd(t, bin, "", append([]string{"device", "wipe", "dora@example.org", "IPHONEDEV2", "--account-only"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "remove this account's data") {
		t.Errorf("online account-only wipe: %+v\nserver: %s", r, serr.String())
	}
	r = runCmd(t, bin, "", append([]string{"device", "list", "dora@example.org"}, common...)...)
	if r.code != 0 || !regexp.MustCompile(`ANDROIDDEV1 .*\brequested\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`IPHONEDEV2 .*\baccount-only requested\n`).MatchString(r.stdout) {
		t.Errorf("online device list: %+v", r)
	}
	if !strings.Contains(serr.String(), `op=device.wipe`) {
		t.Errorf("the running server did not carry out the wipe:\n%s", serr.String())
	}
	stopServer()
}
