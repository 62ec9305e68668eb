package activesync

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/testlog"
	"github.com/gatehouse/gatehouse/store"
)

// testEnv is one ActiveSync handler over a fresh store, served by httptest on loopback,
// with one account. Every command's tests start here.
type testEnv struct {
	t        testing.TB
	st       *store.Store
	dir      *directory.Directory
	h        *Handler
	srv      *httptest.Server
	acct     store.Account
	email    string
	password string
	version  string // MS-ASProtocolVersion sent by do; default 16.1
	dataDir  string // the store's directory
}

const testPassword = "correct horse battery staple"

// newTestEnv starts the handler; edit may change its options before it is made.
func newTestEnv(t testing.TB, edit ...func(*Options)) *testEnv {
	t.Helper()
	ctx := context.Background()
	dataDir := t.TempDir()
	st, err := store.Open(ctx, store.Options{Dir: dataDir, Logger: testlog.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := directory.New(st, directory.Options{DefaultDomain: "example.org", Logger: testlog.Logger(t)})
	e := &testEnv{t: t, st: st, dir: dir, dataDir: dataDir, email: "alice@example.org", password: testPassword, version: "16.1"}
	e.acct = e.addUser("alice@example.org", "Alice Liddell")
	opts := Options{Store: st, Directory: dir, Logger: testlog.Logger(t), Hostname: "mail.example.org"}
	for _, f := range edit {
		f(&opts)
	}
	e.h = New(opts)
	r := chi.NewRouter()
	Routes(r, e.h)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

// addUser creates an account with testPassword.
func (e *testEnv) addUser(email, name string) store.Account {
	e.t.Helper()
	acct, _, err := e.dir.CreateUser(context.Background(), directory.NewUser{Email: email, Password: testPassword, Attributes: store.Attributes{DisplayName: name}})
	if err != nil {
		e.t.Fatal(err)
	}
	return acct
}

// othersMessage creates bob@example.org and delivers a message with that subject to
// his Inbox, for the isolation checks: what Alice's device must not reach. The
// delivery's FolderID is Bob's Inbox.
func (e *testEnv) othersMessage(subject string) (store.Principal, store.Delivered) {
	e.t.Helper()
	bp := store.Principal{AccountID: e.addUser("bob@example.org", "Bob").ID}
	d, err := e.st.Deliver(context.Background(), bp, 0, []byte(attachmentMessage(subject)), store.DeliverOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return bp, d
}

// principal is the test account's store principal.
func (e *testEnv) principal() store.Principal { return store.Principal{AccountID: e.acct.ID} }

// provisioned registers a device and gives it policy key 1, as a finished Provision
// would, so that tests of other commands pass the provisioning gate.
func (e *testEnv) provisioned(deviceID string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.st.DeviceSeen(ctx, e.principal(), deviceID, "TestPhone", "", e.version); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.UpdateDevice(ctx, e.principal(), deviceID, func(d *store.Device) error { d.PolicyKey = 1; return nil }); err != nil {
		e.t.Fatal(err)
	}
}

// call is one ActiveSync request as a test sends it.
type call struct {
	cmd       string
	device    string // default "TESTDEVICE"
	user      string // Basic user; default e.email
	password  string // default e.password
	version   string // default e.version
	policyKey string // X-MS-PolicyKey; default "1"
	query     string // extra plain query parameters, "&ItemId=…"
	xml       string // request body as XML (wbxml.ParseXML form); "" for none
	raw       []byte // a raw body instead (Content-Type message/rfc822)
	header    map[string]string
}

// reply is what came back.
type reply struct {
	status int
	header http.Header
	raw    []byte      // the body, un-gzipped
	body   *wbxml.Node // decoded when WBXML
}

// do sends c and decodes the answer.
func (e *testEnv) do(c call) reply {
	e.t.Helper()
	if c.device == "" {
		c.device = "TESTDEVICE"
	}
	if c.user == "" {
		c.user = e.email
	}
	if c.password == "" {
		c.password = e.password
	}
	if c.version == "" {
		c.version = e.version
	}
	if c.policyKey == "" {
		c.policyKey = "1"
	}
	var body io.Reader
	ctype := ""
	switch {
	case c.xml != "":
		body, ctype = bytes.NewReader(wbxmlOf(e.t, c.xml)), wbxml.ContentType
	case c.raw != nil:
		body, ctype = bytes.NewReader(c.raw), "message/rfc822"
	}
	method := http.MethodPost
	if c.cmd == "" {
		method = http.MethodOptions
	}
	url := e.srv.URL + Path + "?Cmd=" + c.cmd + "&User=" + c.user + "&DeviceId=" + c.device + "&DeviceType=TestPhone" + c.query
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("MS-ASProtocolVersion", c.version)
	if c.policyKey != "-" {
		req.Header.Set("X-MS-PolicyKey", c.policyKey)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "Gatehouse-Test/1.0")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = zr
	}
	raw, err := io.ReadAll(rd)
	if err != nil {
		e.t.Fatal(err)
	}
	out := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), wbxml.ContentType) && len(raw) > 0 {
		if out.body, err = wbxml.Decode(raw); err != nil {
			e.t.Fatalf("response is not WBXML: %v", err)
		}
	}
	return out
}

// deliver puts a message into a folder of the test account through the store.
func (e *testEnv) deliver(folder int64, raw string) store.Delivered {
	e.t.Helper()
	d, err := e.st.Deliver(context.Background(), e.principal(), folder, []byte(raw), store.DeliverOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// folderByRole finds one of the test account's standard folders.
func (e *testEnv) folderByRole(role store.Role) store.Folder {
	e.t.Helper()
	f, err := e.st.FolderByRole(context.Background(), e.principal(), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// validate checks a response against Microsoft's published schema for it
// (../shared/eas-schemas/<schema>, e.g. "FolderSyncResponse.xsd") with xmllint (Debian
// libxml2-utils). The published files refer to other namespaces, and to elements of
// their own namespace defined in other files, without importing or including them, so
// xmllint cannot compile them alone: they are copied into a temporary directory once
// per test process (linkSchemas), each with an xs:import of every namespace it refers
// to, and validated through one wrapper per namespace that includes every file of that
// namespace. The schemas' content is not changed. Where a schema is older or stricter than the protocol version under
// test, say so at the call site rather than skipping.
func validate(t testing.TB, n *wbxml.Node, schema string) {
	t.Helper()
	if n == nil {
		t.Fatalf("validate %s: no response body", schema)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint not installed (libxml2-utils)")
		}
		t.Skip("xmllint not installed")
	}
	linked.Do(func() { linked.dir, linked.namespaceOf, linked.err = linkSchemas() })
	if linked.err != nil {
		t.Fatal(linked.err)
	}
	rootNamespace := linked.namespaceOf[schema]
	if rootNamespace == "" {
		t.Fatalf("no schema %s in the published set", schema)
	}
	// Opaque content (Email2:ConversationId) is rendered in base64 with an
	// opaque="base64" marker the schemas do not declare; it is checked as text.
	doc := filepath.Join(t.TempDir(), "response.xml")
	if err := os.WriteFile(doc, []byte(strings.ReplaceAll(n.XML(), ` opaque="base64"`, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(linked.dir, schemaWrapper(rootNamespace)), doc).CombinedOutput()
	if err != nil {
		t.Errorf("response does not validate against %s (namespace %s): %v\n%s\n%s", schema, rootNamespace, err, out, n.XML())
	}
}

// linked is Microsoft's schema set as validate uses it, linked once per test process
// into a temp dir (removed by TestMain).
var linked struct {
	sync.Once
	dir         string
	namespaceOf map[string]string // schema file name → its target namespace
	err         error
}

// TestMain removes the linked schemas after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if linked.dir != "" {
		os.RemoveAll(linked.dir)
	}
	os.Exit(code)
}

// schemaWrapper names the file that includes every schema of a namespace.
func schemaWrapper(ns string) string {
	return "wrap-" + regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(ns, "_") + ".xsd"
}

// linkSchemas copies the published schemas into a temp dir, adding to each the
// xs:import of every other namespace it uses (Microsoft's files leave them out), and
// writes one wrapper per namespace including all of that namespace's files.
func linkSchemas() (dir string, namespaceOf map[string]string, err error) {
	src := filepath.Join("..", "..", "shared", "eas-schemas")
	files, err := filepath.Glob(filepath.Join(src, "*.xsd"))
	if err != nil || len(files) == 0 {
		return "", nil, fmt.Errorf("no schemas in %s: %v", src, err)
	}
	reTarget := regexp.MustCompile(`targetNamespace\s*=\s*"([^"]+)"`)
	reXmlns := regexp.MustCompile(`xmlns:([A-Za-z0-9]+)\s*=\s*"([^"]+)"`)
	dir, err = os.MkdirTemp("", "eas-schemas")
	if err != nil {
		return "", nil, err
	}
	namespaceOf = map[string]string{}
	byNamespace := map[string][]string{}
	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return dir, nil, err
		}
		s := strings.TrimPrefix(string(b), "\ufeff")
		if m := reTarget.FindStringSubmatch(s); m != nil {
			namespaceOf[filepath.Base(f)] = m[1]
			texts[filepath.Base(f)] = s
			byNamespace[m[1]] = append(byNamespace[m[1]], filepath.Base(f))
		}
	}
	for name, s := range texts {
		target := namespaceOf[name]
		var imports strings.Builder
		for _, m := range reXmlns.FindAllStringSubmatch(s, -1) {
			prefix, ns := m[1], m[2]
			if ns == target || len(byNamespace[ns]) == 0 || !strings.Contains(s, `"`+prefix+":") {
				continue
			}
			fmt.Fprintf(&imports, `<xs:import namespace="%s" schemaLocation="%s"/>`, ns, schemaWrapper(ns))
		}
		i := strings.Index(s, "<xs:schema")
		j := i + strings.Index(s[i:], ">") + 1
		if i < 0 || j <= i {
			return dir, nil, fmt.Errorf("%s: no xs:schema element", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s[:j]+imports.String()+s[j:]), 0o600); err != nil {
			return dir, nil, err
		}
	}
	for ns, names := range byNamespace {
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="%s" elementFormDefault="qualified">`, ns)
		for _, name := range names {
			fmt.Fprintf(&b, `<xs:include schemaLocation="%s"/>`, name)
		}
		b.WriteString("</xs:schema>")
		if err := os.WriteFile(filepath.Join(dir, schemaWrapper(ns)), []byte(b.String()), 0o600); err != nil {
			return dir, nil, err
		}
	}
	return dir, namespaceOf, nil
}

// wbxmlOf encodes a request written as XML (wbxml.ParseXML form), for requests and
// fuzz seeds.
func wbxmlOf(tb testing.TB, xml string) []byte {
	tb.Helper()
	n, err := wbxml.ParseXML([]byte(xml))
	if err != nil {
		tb.Fatalf("request XML: %v", err)
	}
	b, err := wbxml.Encode(n)
	if err != nil {
		tb.Fatalf("encode request: %v", err)
	}
	return b
}
