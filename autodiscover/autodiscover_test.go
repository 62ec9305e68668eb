package autodiscover

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

const (
	hostname = "mail.example.org"
	easURL   = "https://mail.example.org/Microsoft-Server-ActiveSync"
	alice    = "alice@example.org"
	alicePW  = "alice secret"
	bob      = "bob@example.org"
	bobPW    = "bob secret"
)

// env is an Autodiscover handler mounted with Routes on a chi router, served over TLS
// (and plain HTTP) on loopback, over a real store and directory.
type env struct {
	tls, plain *httptest.Server
	client     *http.Client
	st         *store.Store
	h          http.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := directory.New(st, directory.Options{DefaultDomain: "example.org", ThrottleAfter: 1000})
	a, _, err := dir.CreateUser(ctx, directory.NewUser{Email: alice, Password: alicePW,
		Attributes: store.Attributes{DisplayName: "Alice Liddell"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, a.ID, "ali@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.CreateUser(ctx, directory.NewUser{Email: bob, Password: bobPW}); err != nil {
		t.Fatal(err)
	}
	h := New(Options{Directory: dir, Hostname: hostname, IMAPPort: 993, SMTPPort: 465})
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	Routes(r, h)
	e := &env{tls: httptest.NewTLSServer(r), plain: httptest.NewServer(r), st: st, h: h}
	t.Cleanup(e.tls.Close)
	t.Cleanup(e.plain.Close)
	e.client = e.tls.Client()
	e.client.Timeout = 10 * time.Second
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

type result struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the TLS server; user "" sends no credentials.
func (e *env) do(t *testing.T, method, path, user, pass, body string, hdr map[string]string) result {
	t.Helper()
	return e.doURL(t, method, e.tls.URL+path, user, pass, body, hdr)
}

func (e *env) doURL(t *testing.T, method, url, user, pass, body string, hdr map[string]string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

func mobileRequest(email string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>` + email + `</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

func outlookRequest(email string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + email + `</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

// Parsed views of the answers, with full namespaces so that a wrong namespace fails.
type gotMobile struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response *struct {
		Culture string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Culture"`
		User    struct {
			DisplayName  string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 DisplayName"`
			EMailAddress string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 EMailAddress"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 User"`
		Servers []struct {
			Type string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Type"`
			URL  string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Url"`
			Name string `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Name"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Action>Settings>Server"`
	} `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Response"`
	ErrorResponse *struct {
		Error struct {
			Time      string `xml:"Time,attr"`
			ID        string `xml:"Id,attr"`
			ErrorCode int    `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 ErrorCode"`
			Message   string `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Message"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Error"`
	} `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Response"`
}

func parseMobile(t *testing.T, r result) gotMobile {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("Content-Type %q", ct)
	}
	var g gotMobile
	if err := xml.Unmarshal(r.body, &g); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, r.body)
	}
	validate(t, r.body)
	return g
}

// wantSettings checks a successful mobilesync answer ([MS-ASCMD] 4.2.2).
func wantSettings(t *testing.T, r result, email, display string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200\n%s", r.status, r.body)
	}
	g := parseMobile(t, r)
	if g.Response == nil || g.ErrorResponse != nil && g.ErrorResponse.Error.ErrorCode != 0 {
		t.Fatalf("no mobilesync Response:\n%s", r.body)
	}
	resp := g.Response
	if resp.Culture != "en:us" || resp.User.EMailAddress != email || resp.User.DisplayName != display {
		t.Errorf("culture %q user %q %q, want en:us %q %q", resp.Culture, resp.User.DisplayName, resp.User.EMailAddress, display, email)
	}
	if len(resp.Servers) != 1 || resp.Servers[0].Type != "MobileSync" || resp.Servers[0].URL != easURL || resp.Servers[0].Name != easURL {
		t.Errorf("servers %+v, want one MobileSync at %s", resp.Servers, easURL)
	}
}

// wantError checks an Autodiscover framework error answer ([MS-ASCMD] 4.2.3).
func wantError(t *testing.T, r result, status, code int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	g := parseMobile(t, r)
	if g.ErrorResponse == nil || g.ErrorResponse.Error.ErrorCode != code {
		t.Fatalf("want ErrorCode %d:\n%s", code, r.body)
	}
	if g.ErrorResponse.Error.Message == "" || g.ErrorResponse.Error.Time == "" || g.ErrorResponse.Error.ID == "" {
		t.Errorf("error lacks Message, Time or Id:\n%s", r.body)
	}
}

// validate checks a POX answer against Microsoft's published schemas in ../shared
// (AutodiscoverResponse.xsd and AutodiscoverMobileSync.xsd). Outlook-schema answers have
// no published schema here and are checked by structure instead.
func validate(t *testing.T, doc []byte) {
	t.Helper()
	skip, err := schemaCheck(t.TempDir(), doc)
	if skip != "" {
		t.Log(skip)
	}
	if err != nil {
		t.Errorf("answer does not validate: %v\n%s", err, doc)
	}
}

// schemaCheck runs xmllint. AutodiscoverResponse.xsd refers to the mobilesync namespace
// without importing it, which xmllint refuses to compile, so a copy with the missing
// xs:import added is used.
func schemaCheck(tmp string, doc []byte) (skipped string, err error) {
	if _, err := exec.LookPath("xmllint"); err != nil {
		return "xmllint not found (Debian libxml2-utils): schema validation skipped", nil
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "eas-schemas"))
	if err != nil {
		return "", err
	}
	outer, err := os.ReadFile(filepath.Join(dir, "AutodiscoverResponse.xsd"))
	if err != nil {
		return fmt.Sprintf("no schema (%v): validation skipped", err), nil
	}
	s := string(outer)
	i := strings.Index(s, "<xs:schema")
	if i < 0 {
		return "", errors.New("AutodiscoverResponse.xsd: no xs:schema element")
	}
	j := strings.Index(s[i:], ">")
	imp := `<xs:import namespace="` + nsMobileResponse + `" schemaLocation="` +
		filepath.ToSlash(filepath.Join(dir, "AutodiscoverMobileSync.xsd")) + `"/>`
	s = s[:i+j+1] + imp + s[i+j+1:]
	xsd, f := filepath.Join(tmp, "autodiscover.xsd"), filepath.Join(tmp, "answer.xml")
	if err := os.WriteFile(xsd, []byte(s), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		return "", err
	}
	if out, err := exec.Command("xmllint", "--noout", "--schema", xsd, f).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return "", nil
}

// TestSchemaCheckCatchesInvalid: the schema check is able to fail.
func TestSchemaCheckCatchesInvalid(t *testing.T) {
	t.Parallel()
	h := New(Options{Hostname: hostname}).(*handler)
	good := marshal(h.mobileSettings("Alice", alice))
	if skip, err := schemaCheck(t.TempDir(), good); skip != "" {
		t.Skip(skip)
	} else if err != nil {
		t.Fatalf("valid answer refused: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown element": strings.Replace(string(good), "<Culture>", "<Bogus/><Culture>", 1),
		"wrong namespace": strings.Replace(string(good), nsMobileResponse, nsOutlookResponse, 1),
		"order":           reorder(string(good)),
	} {
		if _, err := schemaCheck(t.TempDir(), []byte(bad)); err == nil {
			t.Errorf("%s: invalid answer accepted:\n%s", name, bad)
		}
	}
}

// reorder moves Culture after User, which the schema's sequence forbids.
func reorder(doc string) string {
	doc = strings.Replace(doc, "<Culture>en:us</Culture>", "", 1)
	return strings.Replace(doc, "</User>", "</User><Culture>en:us</Culture>", 1)
}

// TestIOSRequest replays what iOS Mail sends when an Exchange account is added.
func TestIOSRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, mobileRequest(alice), map[string]string{
		"User-Agent": "iOS/16.1 (20B82) dataaccessd/1.0", "Accept-Language": "en-US,en;q=0.9",
	})
	wantSettings(t, r, alice, "Alice Liddell")
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

// TestAndroidRequest: the Android Exchange client's path spelling, a DOMAIN\user login,
// and an alias in a different case as EMailAddress; the answer names the primary address.
func TestAndroidRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/Autodiscover/Autodiscover.xml", `example\alice`, alicePW, mobileRequest("ALI@Example.org"), map[string]string{
		"User-Agent": "Android-Mail/2023.01.01", "Content-Type": "text/xml; charset=utf-8",
	})
	wantSettings(t, r, alice, "Alice Liddell")
}

func TestOutlookSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, outlookRequest(alice), map[string]string{
		"User-Agent": "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.5000; Pro)",
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d\n%s", r.status, r.body)
	}
	const ns = nsOutlookResponse
	var g struct {
		XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
		Response struct {
			DisplayName string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a User>DisplayName"`
			SMTP        string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a User>AutoDiscoverSMTPAddress"`
			Account     struct {
				AccountType string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a AccountType"`
				Action      string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Action"`
				Protocols   []struct {
					Type   string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Type"`
					Server string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Server"`
					Port   int    `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Port"`
					SSL    string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a SSL"`
					Login  string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a LoginName"`
				} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Protocol"`
			} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Account"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	}
	if err := xml.Unmarshal(r.body, &g); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	resp := g.Response
	if resp.DisplayName != "Alice Liddell" || resp.SMTP != alice || resp.Account.AccountType != "email" || resp.Account.Action != "settings" {
		t.Errorf("user/account wrong: %+v\n%s", resp, r.body)
	}
	got := map[string]string{}
	for _, p := range resp.Account.Protocols {
		got[p.Type] = fmt.Sprintf("%s %d %s %s", p.Server, p.Port, p.SSL, p.Login)
	}
	want := map[string]string{
		"MobileSync": easURL + " 0 on " + alice,
		"IMAP":       hostname + " 993 on " + alice,
		"SMTP":       hostname + " 465 on " + alice,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("protocols %v, want %v", got, want)
	}
	for _, forbidden := range []string{"EXCH", "EXPR", "mobilesync/responseschema"} {
		if bytes.Contains(r.body, []byte(forbidden)) {
			t.Errorf("answer mentions %s:\n%s", forbidden, r.body)
		}
	}
	_ = ns
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ name, user, pass string }{
		{"missing", "", ""},
		{"wrong password", alice, "wrong"},
		{"unknown user", "nobody@example.org", alicePW},
		{"other user's password", alice, bobPW},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/autodiscover/autodiscover.xml", c.user, c.pass, mobileRequest(alice), nil)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401\n%s", r.status, r.body)
			}
			if wa := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Basic realm=") {
				t.Errorf("WWW-Authenticate %q", wa)
			}
			if bytes.Contains(r.body, []byte("MobileSync")) {
				t.Errorf("settings leaked without authentication:\n%s", r.body)
			}
		})
	}
}

// TestOtherUsersAddress: an authenticated user asking for someone else's address (or an
// address that does not exist) gets the same Error, never the other user's settings.
func TestOtherUsersAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, addr := range []string{bob, "nobody@example.org", "alice", `example\alice`, "alice@example.org.evil"} {
		t.Run(addr, func(t *testing.T) {
			r := e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, mobileRequest(addr), nil)
			wantError(t, r, http.StatusOK, codeInvalidRequest)
			if bytes.Contains(r.body, []byte(bob)) || bytes.Contains(r.body, []byte("MobileSync")) {
				t.Errorf("answer leaks:\n%s", r.body)
			}
		})
	}
	r := e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, outlookRequest(bob), nil)
	var g struct {
		Code int `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response>Error>ErrorCode"`
	}
	if err := xml.Unmarshal(r.body, &g); err != nil || r.status != http.StatusOK || g.Code != codeNotFound {
		t.Errorf("outlook schema, other address: status %d code %d err %v\n%s", r.status, g.Code, err, r.body)
	}
}

// TestBodies: no body, garbage and hostile bodies get an answer, never a 500.
func TestBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(body string) result {
		return e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, body, nil)
	}
	t.Run("empty", func(t *testing.T) { wantSettings(t, post(""), alice, "Alice Liddell") })
	t.Run("whitespace", func(t *testing.T) { wantSettings(t, post(" \r\n"), alice, "Alice Liddell") })
	t.Run("no email", func(t *testing.T) {
		wantSettings(t, post(strings.Replace(mobileRequest(alice), "<EMailAddress>"+alice+"</EMailAddress>", "", 1)), alice, "Alice Liddell")
	})
	t.Run("no schema element", func(t *testing.T) {
		body := `<Autodiscover xmlns="` + nsMobileRequest + `"><Request><EMailAddress>` + alice + `</EMailAddress></Request></Autodiscover>`
		wantSettings(t, post(body), alice, "Alice Liddell")
	})
	for name, body := range map[string]string{
		"garbage":        "hello, server",
		"truncated":      mobileRequest(alice)[:120],
		"json":           `{"EMailAddress":"alice@example.org"}`,
		"wrong root":     `<Request><EMailAddress>alice@example.org</EMailAddress></Request>`,
		"no request":     `<Autodiscover xmlns="` + nsMobileRequest + `"/>`,
		"two requests":   strings.Replace(mobileRequest(alice), "</Request>", "</Request><Request/>", 1),
		"two roots":      `<Autodiscover><Request/></Autodiscover><Autodiscover/>`,
		"latin1 charset": `<?xml version="1.0" encoding="iso-8859-1"?>` + mobileRequest(alice)[38:],
		"external entity": `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
			`<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>`,
		"undeclared entity": `<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>`,
	} {
		t.Run(name, func(t *testing.T) { wantError(t, post(body), http.StatusBadRequest, codeInvalidRequest) })
	}
	t.Run("too large", func(t *testing.T) {
		body := mobileRequest(alice) + strings.Repeat(" ", maxBody)
		wantError(t, post(body), http.StatusRequestEntityTooLarge, codeInvalidRequest)
	})
	t.Run("unknown response schema", func(t *testing.T) {
		body := strings.Replace(mobileRequest(alice), nsMobileResponse, "http://example.org/other/2006", 1)
		wantError(t, post(body), http.StatusOK, codeNoProvider)
	})
}

// TestPathCase: phones spell the path in several cases; other paths under the prefix are
// not ours.
func TestPathCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml",
		"/AutoDiscover/AutoDiscover.xml", "/AUTODISCOVER/AUTODISCOVER.XML", "/autoDiscover/autodiscover.XML"} {
		t.Run(p, func(t *testing.T) {
			wantSettings(t, e.do(t, "POST", p, alice, alicePW, mobileRequest(alice), nil), alice, "Alice Liddell")
		})
	}
	for _, p := range []string{"/autodiscover/other.xml", "/autodiscover/autodiscover.xml/x", "/autodiscover2/autodiscover.xml"} {
		if r := e.do(t, "POST", p, alice, alicePW, mobileRequest(alice), nil); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.status)
		}
	}
	if r := e.do(t, "GET", "/healthz", "", "", "", nil); r.status != http.StatusOK {
		t.Errorf("Routes took over other paths: /healthz %d", r.status)
	}
	if r := e.do(t, "PUT", "/autodiscover/autodiscover.xml", alice, alicePW, "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: status %d, want 405", r.status)
	}
}

// TestAutodiscoverHost: the Android client's second try, https://autodiscover.<domain>/….
func TestAutodiscoverHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/autodiscover/autodiscover.xml", alice, alicePW, mobileRequest(alice),
		map[string]string{"Host": "autodiscover.example.org"})
	wantSettings(t, r, alice, "Alice Liddell")
}

func TestGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do(t, "GET", "/autodiscover/autodiscover.xml", "", "", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET without credentials: %d, want 401", r.status)
	}
	wantError(t, e.do(t, "GET", "/Autodiscover/Autodiscover.xml", alice, alicePW, "", nil), http.StatusOK, codeInvalidRequest)
}

// TestPlainHTTP: credentials over plain HTTP are taken only from loopback (a local TLS
// proxy); from elsewhere the client is redirected to the https URL before any credential
// is read, and a non-loopback X-Forwarded-Proto is not believed.
func TestPlainHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Over a real plain listener on loopback.
	r := e.doURL(t, "POST", e.plain.URL+"/autodiscover/autodiscover.xml", alice, alicePW, mobileRequest(alice),
		map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"})
	wantSettings(t, r, alice, "Alice Liddell")

	// A remote peer cannot be had on a loopback listener: the handler is called directly.
	for _, c := range []struct {
		name   string
		remote string
		hdr    map[string]string
		allow  bool
		want   int
	}{
		{"remote plain", "192.0.2.7:5555", nil, false, http.StatusFound},
		{"remote spoofed proto", "192.0.2.7:5555", map[string]string{"X-Forwarded-Proto": "https"}, false, http.StatusFound},
		{"remote plain allowed", "192.0.2.7:5555", nil, true, http.StatusOK},
		{"loopback v6", "[::1]:5555", nil, false, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := e.h.(*handler)
			if c.allow {
				o := h.opts
				o.AllowPlaintextWithoutTLS = true
				h = New(o).(*handler)
			}
			for _, method := range []string{"POST", "GET"} {
				req := httptest.NewRequest(method, "http://autodiscover.example.org/AutoDiscover/AutoDiscover.xml", strings.NewReader(mobileRequest(alice)))
				req.RemoteAddr = c.remote
				req.SetBasicAuth(alice, alicePW)
				for k, v := range c.hdr {
					req.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != c.want {
					t.Errorf("%s: status %d, want %d\n%s", method, w.Code, c.want, w.Body)
				}
				if c.want == http.StatusFound && w.Header().Get("Location") != "https://mail.example.org/autodiscover/autodiscover.xml" {
					t.Errorf("%s: Location %q", method, w.Header().Get("Location"))
				}
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type answer struct{ Protocol, Url, ErrorCode, ErrorMessage string }
	get := func(path string) (int, answer, http.Header) {
		r := e.do(t, "GET", path, "", "", "", nil)
		var a answer
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", path, err, r.body)
		}
		return r.status, a, r.header
	}
	for _, p := range []string{
		"/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=ActiveSync",
		"/autodiscover/autodiscover.json/v1.0/alice%40example.org?Protocol=activesync&RedirectCount=1",
		"/Autodiscover/Autodiscover.json?Email=alice%40example.org&Protocol=ActiveSync&RedirectCount=1",
		"/autodiscover/autodiscover.json?Email=nobody@example.org&protocol=ActiveSync",
	} {
		st, a, h := get(p)
		if st != http.StatusOK || a.Protocol != "ActiveSync" || a.Url != easURL || a.ErrorCode != "" {
			t.Errorf("%s: %d %+v", p, st, a)
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
	st, a, _ := get("/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=AutodiscoverV1")
	if st != http.StatusOK || a.Protocol != "AutodiscoverV1" || a.Url != "https://mail.example.org/autodiscover/autodiscover.xml" {
		t.Errorf("AutodiscoverV1: %d %+v", st, a)
	}
	for _, p := range []string{
		"/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=Ews",
		"/autodiscover/autodiscover.json?Email=alice@example.org",
		"/autodiscover/autodiscover.json?Email=alice@example.org&Protocol=%3Cscript%3E'x",
	} {
		st, a, _ := get(p)
		if st != http.StatusBadRequest || a.ErrorCode != "InvalidProtocol" || !strings.Contains(a.ErrorMessage, "ActiveSync") || a.Url != "" {
			t.Errorf("%s: %d %+v", p, st, a)
		}
		if strings.ContainsAny(a.ErrorMessage[:strings.Index(a.ErrorMessage, " is invalid")], "<>\"") {
			t.Errorf("%s: client text echoed unfiltered: %q", p, a.ErrorMessage)
		}
	}
	if r := e.do(t, "POST", "/autodiscover/autodiscover.json?Protocol=ActiveSync", "", "", "{}", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST json: %d, want 405", r.status)
	}
}

var _ = tls.VersionTLS12
