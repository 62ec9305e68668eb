package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/testutil"
	"github.com/gatehouse/gatehouse/store"
)

func TestStartServesHealthOverHTTPAndHTTPS(t *testing.T) {
	a := testutil.StartApp(t)
	if a.AdminEmail != "admin@example.org" || len(a.AdminPassword) < 16 {
		t.Errorf("first administrator %q / %d-char password", a.AdminEmail, len(a.AdminPassword))
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, u := range []string{"http://" + a.Addr("http") + "/healthz", "https://" + a.Addr("https") + "/healthz"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Errorf("%s: %d %q", u, resp.StatusCode, body)
		}
	}
	// The administrator can log in through the one auth path.
	if _, err := a.Dir.Authenticate(context.Background(), a.AdminEmail, a.AdminPassword, "test", mustAddr("127.0.0.1")); err != nil {
		t.Errorf("administrator login: %v", err)
	}
}

// TestControlSocketChangesReachTheFeed: an admin command sent to the running server
// goes through its store, so its change feed sees it.
func TestControlSocketChangesReachTheFeed(t *testing.T) {
	a := testutil.StartApp(t)
	sub := a.Store.Feed().Subscribe(0)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := admin.Call(ctx, a.Cfg.DataDir, admin.Request{Op: "user.add", Email: "carol@example.org", Password: "pw-carol"})
	if err != nil || resp.Exit != 0 {
		t.Fatalf("user add over control socket: %+v %v", resp, err)
	}
	select {
	case <-sub.Ready():
	case <-ctx.Done():
		t.Fatal("no change hint after user add")
	}
	changes, _ := sub.Drain()
	acct, err := a.Store.AccountByEmail(ctx, "carol@example.org")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range changes {
		found = found || (c.AccountID == acct.ID && c.Kind&store.ChangeHierarchy != 0)
	}
	if !found {
		t.Errorf("hints %+v do not mention carol's new folders", changes)
	}
	resp, _ = admin.Call(ctx, a.Cfg.DataDir, admin.Request{Op: "user.add", Email: "carol@example.org", Password: "x"})
	if resp.Exit != admin.ExitError || resp.Error == "" {
		t.Errorf("duplicate user add: %+v", resp)
	}
}
