package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
)

// phone replays what a real ActiveSync client sends, request by request, over real HTTP:
// the query string, headers and WBXML bodies of ../shared/eas-clients.md. Its requests
// are written as XML and encoded by our codec; the codec itself is checked against
// libwbxml in activesync/wbxml.
type phone struct {
	t         testing.TB
	base      string // https://127.0.0.1:port
	user      string
	password  string
	deviceID  string
	devType   string
	userAgent string
	version   string
	policyKey string // "" sends no X-MS-PolicyKey
	client    *http.Client
}

func newPhone(t testing.TB, base, user, password, deviceID, devType, userAgent, version string) *phone {
	return &phone{t: t, base: base, user: user, password: password, deviceID: deviceID, devType: devType,
		userAgent: userAgent, version: version,
		client: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
}

type phoneReply struct {
	status int
	header http.Header
	body   *wbxml.Node
	raw    []byte
}

// send posts one command (an empty cmd sends OPTIONS).
func (p *phone) send(cmd, xml string) phoneReply {
	p.t.Helper()
	var body io.Reader
	method := http.MethodPost
	if cmd == "" {
		method = http.MethodOptions
	} else if xml != "" {
		n, err := wbxml.ParseXML([]byte(xml))
		if err != nil {
			p.t.Fatalf("%s request XML: %v", cmd, err)
		}
		b, err := wbxml.Encode(n)
		if err != nil {
			p.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	url := fmt.Sprintf("%s/Microsoft-Server-ActiveSync?User=%s&DeviceId=%s&DeviceType=%s&Cmd=%s", p.base, p.user, p.deviceID, p.devType, cmd)
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.SetBasicAuth(p.user, p.password)
	req.Header.Set("User-Agent", p.userAgent)
	req.Header.Set("MS-ASProtocolVersion", p.version)
	req.Header.Set("Accept-Encoding", "gzip")
	if body != nil {
		req.Header.Set("Content-Type", wbxml.ContentType)
	}
	if p.policyKey != "" {
		req.Header.Set("X-MS-PolicyKey", p.policyKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatalf("%s: %v", cmd, err)
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if rd, err = gzip.NewReader(resp.Body); err != nil {
			p.t.Fatal(err)
		}
	}
	raw, err := io.ReadAll(rd)
	if err != nil {
		p.t.Fatal(err)
	}
	r := phoneReply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), wbxml.ContentType) && len(raw) > 0 {
		if r.body, err = wbxml.Decode(raw); err != nil {
			p.t.Fatalf("%s: response is not WBXML: %v", cmd, err)
		}
	}
	return r
}

// must sends and requires HTTP 200 and, when want is not "", a top-level Status.
func (p *phone) must(cmd, xml, want string) *wbxml.Node {
	p.t.Helper()
	r := p.send(cmd, xml)
	if r.status != http.StatusOK {
		p.t.Fatalf("%s: HTTP %d %s", cmd, r.status, r.raw)
	}
	if want != "" {
		if got := r.body.ChildText("Status"); got != want {
			p.t.Fatalf("%s: Status %q, want %s\n%s", cmd, got, want, r.body.XML())
		}
	}
	return r.body
}

// provision runs both phases of [MS-ASPROV] 3.1.5.1 and keeps the final key.
func (p *phone) provision(deviceInfo string) {
	p.t.Helper()
	req := `<Provision xmlns="Provision" xmlns:settings="Settings">` + deviceInfo +
		`<Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`
	b := p.must("Provision", req, "1")
	temp := b.Path("Policies", "Policy", "PolicyKey")
	if temp == nil || temp.Text == "" {
		p.t.Fatalf("Provision phase 1 gave no PolicyKey:\n%s", b.XML())
	}
	p.policyKey = temp.Text
	b = p.must("Provision", `<Provision xmlns="Provision"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><PolicyKey>`+
		temp.Text+`</PolicyKey><Status>1</Status></Policy></Policies></Provision>`, "1")
	final := b.Path("Policies", "Policy", "PolicyKey")
	if final == nil || final.Text == "" || final.Text == temp.Text {
		p.t.Fatalf("Provision phase 2: final key %v (temporary %s)\n%s", final, temp.Text, b.XML())
	}
	p.policyKey = final.Text
}

// folders runs FolderSync from key 0 and returns ServerId by folder type.
func (p *phone) folders() map[string]string {
	p.t.Helper()
	b := p.must("FolderSync", `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`, "1")
	out := map[string]string{}
	for _, add := range b.Path("Changes").All("Add") {
		if _, dup := out[add.ChildText("Type")]; !dup {
			out[add.ChildText("Type")] = add.ChildText("ServerId")
		}
	}
	return out
}

// syncKey primes a collection (SyncKey 0) and returns its first key.
func (p *phone) primeSync(collection string) string {
	p.t.Helper()
	b := p.must("Sync", `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>0</SyncKey><CollectionId>`+collection+
		`</CollectionId></Collection></Collections></Sync>`, "")
	c := b.Path("Collections", "Collection")
	if c.ChildText("Status") != "1" || c.ChildText("SyncKey") == "" {
		p.t.Fatalf("Sync key 0:\n%s", b.XML())
	}
	return c.ChildText("SyncKey")
}
