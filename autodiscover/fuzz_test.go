package autodiscover

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// FuzzRequest feeds arbitrary bodies to an authenticated user's request handling (the
// seeds are in testdata/fuzz/FuzzRequest). Whatever the body: no panic, no 5xx, a
// well-formed XML answer, an error that wraps errInvalidRequest when parsing fails, and
// settings only ever for the authenticated account.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{"", mobileRequest(alice), outlookRequest(bob), "<Autodiscover><Request/></Autodiscover>"} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	dir := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	acct, _, err := dir.CreateUser(ctx, directory.NewUser{Email: alice, Password: alicePW})
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := dir.CreateUser(ctx, directory.NewUser{Email: bob, Password: bobPW}); err != nil {
		f.Fatal(err)
	}
	h := New(Options{Directory: dir, Hostname: hostname, IMAPPort: 993}).(*handler)
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, body []byte) {
		if q, err := parseRequest(body); err != nil && !errors.Is(err, errInvalidRequest) {
			t.Fatalf("parse error %v does not wrap errInvalidRequest", err)
		} else if err == nil && q.responseSchema() > schemaUnknown {
			t.Fatalf("schema %d", q.responseSchema())
		}
		status, e, err := h.answer(ctx, log, acct, body)
		if err != nil {
			t.Fatalf("store error on a healthy store: %v", err)
		}
		if status >= 500 || status < 200 {
			t.Fatalf("status %d", status)
		}
		out := marshal(e)
		if err := xml.Unmarshal(out, new(struct{})); err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, out)
		}
		if strings.Contains(string(out), bob) {
			t.Fatalf("another account's address in the answer:\n%s", out)
		}
		if status == http.StatusOK && e.Error == nil && (e.Outlook == nil || e.Outlook.Error == nil) &&
			!strings.Contains(string(out), "<EMailAddress>"+alice+"<") && !strings.Contains(string(out), "<AutoDiscoverSMTPAddress>"+alice+"<") {
			t.Fatalf("settings not for the authenticated user:\n%s", out)
		}
	})
}

// TestStoreFailure: a store error while checking the address is a 503 with Retry-After,
// logged, never a 500 or a settings answer.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.h.(*handler)
	acct, err := h.opts.Directory.ResolveLogin(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	e.st.Close()
	for _, body := range []string{mobileRequest("ali@example.org"), outlookRequest("ali@example.org")} {
		_, env, err := h.answer(context.Background(), h.log, acct, []byte(body))
		if err == nil {
			t.Fatal("no error from a closed store")
		}
		w := httptest.NewRecorder()
		h.fail(w, h.log, env, err)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("status %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
		if strings.Contains(w.Body.String(), "MobileSync") || !strings.Contains(w.Body.String(), "<ErrorCode>") {
			t.Errorf("answer:\n%s", w.Body)
		}
	}
}
