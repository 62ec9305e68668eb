package ldapserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

var (
	bobHashOnce sync.Once
	bobHashVal  string
)

// bobHash is the hash of "s3cret", computed once (argon2id is slow under -race).
func bobHash(t testing.TB) string {
	bobHashOnce.Do(func() {
		h, err := directory.HashPassword("s3cret")
		if err != nil {
			panic(err)
		}
		bobHashVal = h
	})
	return bobHashVal
}

type env struct {
	st   *store.Store
	dir  *directory.Directory
	gal  *directory.GAL
	srv  *Server
	addr string
	bob  store.Account
}

func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// newEnv starts a store with bob@example.org (password "s3cret"), extra accounts, a GAL
// and a server on 127.0.0.1.
func newEnv(t *testing.T, extra int, edit ...func(*Options)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)
	d := directory.New(st, directory.Options{DefaultDomain: "example.org", ThrottleAfter: 100, ThrottleMaxDelay: time.Second, Logger: log})
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	bob, err := st.CreateAccount(ctx, store.NewAccount{Email: "bob@example.org", PasswordHash: bobHash(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetAttributes(ctx, bob.ID, store.Attributes{DisplayName: "Bob Marley", GivenName: "Bob", Surname: "Marley",
		Title: "Singer", Department: "Music", Company: "Wailers", Phone: "+1 555-0100", Mobile: "+1 555 0199",
		City: "Kingston", Country: "JM", Photo: []byte{0xff, 0xd8, 0xff, 0x00, 0x01}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, bob.ID, "robert@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, store.NewAccount{Email: "ghost@example.org", Attributes: store.Attributes{DisplayName: "Hidden Ghost", HiddenFromGAL: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDomain(ctx, "other.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, store.NewAccount{Email: "carol@other.test", Attributes: store.Attributes{GivenName: "Carol", Surname: "King"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	errs := make(chan error, 1)
	for i := range extra {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := st.CreateAccount(ctx, store.NewAccount{Email: fmt.Sprintf("user%04d@example.org", i),
				Attributes: store.Attributes{GivenName: fmt.Sprintf("Given%04d", i), Surname: "Bulk", DisplayName: fmt.Sprintf("Given%04d Bulk", i)}})
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	gal := directory.NewGAL(st, log)
	galDone := make(chan struct{})
	go func() { defer close(galDone); gal.Run(ctx) }()
	<-gal.Ready()
	opts := Options{Directory: d, GAL: gal, TLS: selfSigned(t), Logger: log}
	for _, e := range edit {
		e(&opts)
	}
	srv := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		cancel()
		<-galDone
		st.Close()
	})
	return &env{st: st, dir: d, gal: gal, srv: srv, addr: ln.Addr().String(), bob: bob}
}

// awaitGAL waits a few seconds at most for an address book that satisfies ok.
func (e *env) awaitGAL(t *testing.T, what string, ok func(*directory.GALSnapshot) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.gal.Await(ctx, ok); err != nil {
		t.Fatal(what)
	}
}

func (e *env) dial(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL("ldap://" + e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(10 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) bound(t *testing.T) *ldap.Conn {
	t.Helper()
	c := e.dial(t)
	if err := c.Bind("bob@example.org", "s3cret"); err != nil {
		t.Fatal(err)
	}
	return c
}

func resultCode(err error) uint16 {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	return 0xffff
}

func search(t *testing.T, c *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s: %v", filter, err)
	}
	return res.Entries
}

func dns(es []*ldap.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.DN)
	}
	slices.Sort(out)
	return out
}

const base = "dc=example,dc=org"
const bobDN = "uid=bob,ou=people,dc=example,dc=org"

func TestBind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	for _, name := range []string{bobDN, "UID=Bob, OU=People, DC=Example, DC=Org", "bob@example.org", "robert@example.org", "bob"} {
		c := e.dial(t)
		if err := c.Bind(name, "s3cret"); err != nil {
			t.Errorf("bind as %q: %v", name, err)
			continue
		}
		who, err := c.WhoAmI(nil)
		if err != nil || who.AuthzID != "dn:"+bobDN {
			t.Errorf("whoami after bind as %q: %+v %v", name, who, err)
		}
	}
	c := e.dial(t)
	if err := c.Bind(bobDN, "wrong"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("bad password: %v", err)
	}
	if err := c.Bind("nobody@example.org", "s3cret"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("unknown user: %v", err)
	}
	// After a failed bind the connection is anonymous, and anonymous may not search.
	_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("unauthenticated search: %v", err)
	}
	if err := c.UnauthenticatedBind(""); resultCode(err) != ldap.LDAPResultInappropriateAuthentication {
		t.Errorf("anonymous bind: %v", err)
	}
	if err := c.UnauthenticatedBind(bobDN); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("unauthenticated bind: %v", err)
	}
	who, err := c.WhoAmI(nil)
	if err != nil || who.AuthzID != "" {
		t.Errorf("anonymous whoami: %+v %v", who, err)
	}
	// Writes are refused.
	bc := e.bound(t)
	if err := bc.Del(ldap.NewDelRequest(bobDN, nil)); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("delete: %v", err)
	}
	mr := ldap.NewModifyRequest(bobDN, nil)
	mr.Replace("title", []string{"Boss"})
	if err := bc.Modify(mr); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("modify: %v", err)
	}
	ok, err := bc.Compare(bobDN, "mail", "ROBERT@example.org")
	if err != nil || !ok {
		t.Errorf("compare: %v %v", ok, err)
	}
}

func TestAnonymousAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0, func(o *Options) { o.AllowAnonymous = true })
	c := e.dial(t)
	if err := c.UnauthenticatedBind(""); err != nil {
		t.Fatal(err)
	}
	if got := search(t, c, base, "(uid=bob)"); len(got) != 1 {
		t.Errorf("anonymous search: %v", dns(got))
	}
}

func TestPlaintextRefusedOffLoopback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	a, b := net.Pipe() // a pipe has no loopback address: it stands for a remote client
	sc := e.srv.newConn(a)
	go sc.serve()
	c := ldap.NewConn(b, false)
	c.Start()
	defer c.Close()
	if err := c.Bind(bobDN, "s3cret"); resultCode(err) != ldap.LDAPResultConfidentialityRequired {
		t.Errorf("plaintext bind off loopback: %v", err)
	}
}

func TestClientFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	c := e.bound(t)
	cases := []struct {
		name, base, filter string
		want               []string
	}{
		{"thunderbird", base, "(|(cn=*marl*)(mail=*marl*)(sn=*marl*)(givenName=*marl*))", []string{bobDN}},
		{"thunderbird short term", base, "(|(cn=*b*)(mail=*b*)(sn=*b*)(givenName=*b*))", nil}, // checked by count below
		{"thunderbird alias", "", "(|(cn=*robert*)(mail=*robert*)(sn=*robert*)(givenName=*robert*))", []string{bobDN}},
		{"outlook", base, "(&(mail=*)(|(mail=bob*)(cn=bob*)(sn=bob*)(givenName=bob*)(displayName=bob*)))", []string{bobDN}},
		{"apple contacts", base, "(&(objectClass=inetOrgPerson)(|(givenName=Bob*)(sn=Bob*)(cn=Bob*)(mail=Bob*)))", []string{bobDN}},
		{"equality any case", base, "(mail=BOB@EXAMPLE.ORG)", []string{bobDN}},
		{"phone ignores spaces", base, "(telephoneNumber=+15550100)", []string{bobDN}},
		{"not", base, "(&(objectClass=person)(!(sn=Bulk)))", []string{bobDN}},
		{"ge le", base, "(&(uid>=user0048)(uid<=user0049))", []string{"uid=user0048,ou=people," + base, "uid=user0049,ou=people," + base}},
		{"approx", base, "(cn~=marley)", []string{bobDN}},
		{"present", base, "(jpegPhoto=*)", []string{bobDN}},
		{"substring initial any final", base, "(cn=B*b*ley)", []string{bobDN}},
		{"hidden never shown", "", "(|(mail=ghost*)(cn=*ghost*))", nil},
		{"other domain", "dc=other,dc=test", "(objectClass=inetOrgPerson)", []string{"uid=carol,ou=people,dc=other,dc=test"}},
		{"unknown attribute undefined under not", base, "(!(nosuchattr=1))", nil},
		{"ou entries", base, "(objectClass=organizationalUnit)", []string{"ou=contacts," + bobDN, "ou=groups," + base, "ou=people," + base}},
		{"absolute true", base, "(&(uid=bob)(&))", []string{bobDN}},
	}
	for _, tc := range cases {
		got := dns(search(t, c, tc.base, tc.filter))
		if tc.name == "thunderbird short term" {
			if len(got) != 51 { // bob and the 50 "Bulk" people
				t.Errorf("%s: %d entries", tc.name, len(got))
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %s: got %v, want %v", tc.name, tc.filter, got, tc.want)
		}
	}

	// Attribute selection, typesOnly, scopes.
	baseSearch := func(dn string, attrs ...string) []*ldap.Entry {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", attrs, nil))
		if err != nil {
			t.Fatal(err)
		}
		return res.Entries
	}
	es := baseSearch(bobDN)
	if len(es) != 1 || es[0].GetAttributeValue("title") != "Singer" || es[0].GetAttributeValue("o") != "Wailers" ||
		es[0].GetAttributeValue("c") != "JM" || string(es[0].GetRawAttributeValue("jpegPhoto")) != "\xff\xd8\xff\x00\x01" ||
		!slices.Equal(es[0].GetAttributeValues("mail"), []string{"bob@example.org", "robert@example.org"}) ||
		es[0].GetAttributeValue("entryDN") != "" {
		t.Errorf("bob: %+v", es)
	}
	es = baseSearch(bobDN, "mail", "+")
	if len(es) != 1 || len(es[0].Attributes) != 5 || es[0].GetAttributeValue("entryDN") != bobDN {
		t.Errorf("mail and +: %d attrs", len(es[0].Attributes))
	}
	res, err := c.Search(ldap.NewSearchRequest(bobDN, ldap.ScopeBaseObject, 0, 0, 0, true, "(objectClass=*)", []string{"cn", "sn"}, nil))
	if err != nil || len(res.Entries) != 1 || len(res.Entries[0].Attributes) != 2 || len(res.Entries[0].Attributes[0].Values) != 0 {
		t.Errorf("typesOnly: %v %+v", err, res)
	}
	res, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 2 || len(res.Entries[0].Attributes) != 0 {
		t.Errorf("one level: %v %+v", err, res)
	}
	_, err = c.Search(ldap.NewSearchRequest("ou=nothing,"+base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if resultCode(err) != ldap.LDAPResultNoSuchObject {
		t.Errorf("missing base: %v", err)
	}
	res, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 10, 0, false, "(sn=Bulk)", []string{"1.1"}, nil))
	if resultCode(err) != ldap.LDAPResultSizeLimitExceeded || len(res.Entries) != 10 {
		t.Errorf("size limit: %v, %d entries", err, len(res.Entries))
	}
}

func TestRootDSE(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	c := e.dial(t) // anonymous: the Root DSE is readable before binding
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"+"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatal(err)
	}
	r := res.Entries[0]
	if !slices.Equal(r.GetAttributeValues("namingContexts"), []string{base, "dc=other,dc=test"}) ||
		r.GetAttributeValue("supportedLDAPVersion") != "3" ||
		!slices.Contains(r.GetAttributeValues("supportedControl"), ldap.ControlTypePaging) ||
		!slices.Contains(r.GetAttributeValues("supportedExtension"), oidStartTLS) ||
		!slices.Contains(r.GetAttributeValues("supportedExtension"), oidWhoAmI) ||
		r.GetAttributeValue("subschemaSubentry") != "cn=Subschema" {
		t.Errorf("root DSE: %v", r.Attributes)
	}
	res, err = c.Search(ldap.NewSearchRequest("cn=Subschema", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=subschema)", []string{"objectClasses"}, nil))
	if err != nil || len(res.Entries) != 1 || len(res.Entries[0].GetAttributeValues("objectClasses")) == 0 {
		t.Errorf("subschema: %v %+v", err, res)
	}
}

func TestPagedResults(t *testing.T) {
	t.Parallel()
	n := 2500
	if raceEnabled {
		n = 500
	}
	e := newEnv(t, n)
	c := e.bound(t)
	start := time.Now()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"cn", "mail"}, nil), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != n+1 {
		t.Fatalf("%d entries", len(res.Entries))
	}
	seen := map[string]bool{}
	for _, e := range res.Entries {
		if seen[e.DN] {
			t.Fatalf("%s twice", e.DN)
		}
		seen[e.DN] = true
	}
	t.Logf("%d entries in pages of 100: %v", n+1, time.Since(start))
	// A substring search over the 2,500 uses the index and checks every candidate.
	if got := search(t, c, base, "(|(cn=*n01*)(mail=*n01*))", "1.1"); len(got) != min(100, max(0, n-100)) {
		t.Errorf("*n01*: %d", len(got))
	}
	if got := search(t, c, base, "(givenName=*0042*)", "1.1"); len(got) != 1 {
		t.Errorf("*0042*: %d", len(got))
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	c := e.dial(t)
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS state")
	}
	if err := c.Bind(bobDN, "s3cret"); err != nil {
		t.Fatal(err)
	}
	if got := search(t, c, base, "(uid=bob)"); len(got) != 1 {
		t.Errorf("search over TLS: %v", dns(got))
	}
	// ldaps: the caller wraps the listener.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", e.srv.opts.TLS)
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(ln)
	lc, err := ldap.DialURL("ldaps://"+ln.Addr().String(), ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := lc.Bind("bob", "s3cret"); err != nil {
		t.Fatal(err)
	}
}

func TestFeedUpdatesNextSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	c := e.bound(t)
	if got := search(t, c, base, "(title=Drummer)"); len(got) != 0 {
		t.Fatal("drummer before")
	}
	attrs := e.bob.Attributes
	attrs.DisplayName, attrs.GivenName, attrs.Surname, attrs.Title = "Bob Marley", "Bob", "Marley", "Drummer"
	if err := e.st.SetAttributes(context.Background(), e.bob.ID, attrs); err != nil {
		t.Fatal(err)
	}
	e.awaitGAL(t, "the GAL did not follow the feed", func(s *directory.GALSnapshot) bool {
		b, ok := s.ByEmail("bob@example.org")
		return ok && b.Title == "Drummer"
	})
	if got := search(t, c, base, "(title=Drummer)"); !slices.Equal(dns(got), []string{bobDN}) {
		t.Errorf("after change: %v", dns(got))
	}
	// Hiding bob takes him out of the GAL.
	attrs.HiddenFromGAL = true
	if err := e.st.SetAttributes(context.Background(), e.bob.ID, attrs); err != nil {
		t.Fatal(err)
	}
	e.awaitGAL(t, "bob still in the GAL", func(s *directory.GALSnapshot) bool {
		_, ok := s.ByEmail("bob@example.org")
		return !ok
	})
	if got := search(t, c, base, "(|(cn=*marley*)(uid=bob))"); len(got) != 0 {
		t.Errorf("hidden: %v", dns(got))
	}
}

func TestBadPasswordThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	d := directory.New(e.st, directory.Options{DefaultDomain: "example.org", ThrottleAfter: 1, ThrottleMaxDelay: 2 * time.Second})
	srv := New(Options{Directory: d, GAL: e.gal})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := ldap.DialURL("ldap://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last time.Duration
	for range 3 {
		start := time.Now()
		if err := c.Bind(bobDN, "wrong"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
			t.Fatalf("bad password: %v", err)
		}
		last = time.Since(start)
	}
	if last < 200*time.Millisecond {
		t.Errorf("third failure answered in %v: not throttled", last)
	}
}

func TestSortControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30)
	c := e.bound(t)
	sorted := func(critical bool, keys ...[2]string) (*ldap.SearchResult, error) {
		list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		for _, k := range keys {
			sk := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
			sk.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, k[0], ""))
			if k[1] == "reverse" {
				sk.AppendChild(ber.NewBoolean(ber.ClassContext, ber.TypePrimitive, 1, true, ""))
			}
			list.AppendChild(sk)
		}
		ctl := ldap.NewControlString(ldap.ControlTypeServerSideSorting, critical, string(list.Bytes()))
		return c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=inetOrgPerson)",
			[]string{"uid"}, []ldap.Control{ctl}))
	}
	res, err := sorted(true, [2]string{"sn", ""}, [2]string{"givenName", "reverse"})
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, e := range res.Entries {
		uids = append(uids, e.GetAttributeValue("uid"))
	}
	if len(uids) != 31 || uids[0] != "user0029" || uids[29] != "user0000" || uids[30] != "bob" {
		t.Errorf("sorted by sn, givenName descending: %v", uids)
	}
	if _, err := sorted(true, [2]string{"nosuchattr", ""}); resultCode(err) != ldap.LDAPResultUnavailableCriticalExtension {
		t.Errorf("critical sort on an unknown attribute: %v", err)
	}
	if res, err := sorted(false, [2]string{"nosuchattr", ""}); err != nil || len(res.Entries) != 31 {
		t.Errorf("non-critical sort on an unknown attribute: %v", err)
	}
}

func TestShutdownIdleConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	p, err := ber.ReadPacket(nc)
	if err != nil || p.Children[1].Tag != ldap.ApplicationExtendedResponse {
		t.Errorf("no notice of disconnection: %v", err)
	}
}

// testLogger logs to the test's output (internal/testutil imports the app, which
// imports this package).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestPersonalContactsOnlyForTheirOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	if _, _, err := e.dir.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: "alicepw"}); err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: e.bob.ID}
	f, err := e.st.FolderByRole(ctx, p, store.RoleContacts)
	if err != nil {
		t.Fatal(err)
	}
	card := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Secret Friend\r\nN:Friend;Secret;;;\r\n" +
		"EMAIL:friend@private.test\r\nTEL;TYPE=cell:+44 7700 900123\r\nORG:Hideout\r\nEND:VCARD\r\n"
	d, err := e.st.AppendPIM(ctx, p, f.ID, store.PIMItem{Content: card})
	if err != nil {
		t.Fatal(err)
	}
	contactDN := fmt.Sprintf("uid=%d,ou=contacts,%s", d.ItemID, bobDN)

	bob := e.bound(t)
	got := search(t, bob, base, "(|(cn=*friend*)(mail=*friend*)(sn=*friend*)(givenName=*friend*))")
	if len(got) != 1 || got[0].DN != contactDN || got[0].GetAttributeValue("mobile") != "+44 7700 900123" ||
		got[0].GetAttributeValue("mail") != "friend@private.test" || got[0].GetAttributeValue("o") != "Hideout" {
		t.Fatalf("bob's own contact: %v", dns(got))
	}
	if got := search(t, bob, "ou=contacts,"+bobDN, "(objectClass=*)"); len(got) != 2 {
		t.Errorf("bob's contacts subtree: %v", dns(got))
	}

	alice := e.dial(t)
	if err := alice.Bind("alice@example.org", "alicepw"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{contactDN, "ou=contacts," + bobDN} {
		_, err := alice.Search(ldap.NewSearchRequest(b, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
		if resultCode(err) != ldap.LDAPResultNoSuchObject {
			t.Errorf("alice reads %s: %v", b, err)
		}
	}
	for _, filter := range []string{"(mail=friend@private.test)", "(cn=*Friend*)", "(objectClass=*)", "(o=Hideout)"} {
		for _, b := range []string{"", base, bobDN} {
			for _, e := range search(t, alice, b, filter) {
				if e.DN == contactDN || e.GetAttributeValue("o") == "Hideout" {
					t.Errorf("alice found bob's contact with %s under %q", filter, b)
				}
			}
		}
	}
	if ok, err := alice.Compare(contactDN, "mail", "friend@private.test"); ok || resultCode(err) != ldap.LDAPResultNoSuchObject {
		t.Errorf("alice compares bob's contact: %v %v", ok, err)
	}
	// A card added later shows once the feed has told the GAL (the folder is cached).
	if _, err := e.st.AppendPIM(ctx, p, f.ID, store.PIMItem{Content: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Second Friend\r\nEMAIL:second@private.test\r\nEND:VCARD\r\n"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(search(t, bob, base, "(cn=*friend*)")) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second card never showed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Alice has her own (empty) contacts container and nothing else.
	if got := search(t, alice, "ou=contacts,uid=alice,ou=people,"+base, "(objectClass=*)"); len(got) != 1 {
		t.Errorf("alice's contacts: %v", dns(got))
	}
}
