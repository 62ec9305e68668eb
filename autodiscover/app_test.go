package autodiscover_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/autodiscover"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/testutil"
	"github.com/gatehouse/gatehouse/store"
)

const request = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
<Request><EMailAddress>carol@example.org</EMailAddress>
<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
</Request></Autodiscover>`

// TestInApp mounts the handler on a whole Gatehouse's router, as internal/app does, and
// asks over its https listener with Go's client and, when installed, curl.
func TestInApp(t *testing.T) {
	t.Parallel()
	a := testutil.StartApp(t)
	if _, _, err := a.Dir.CreateUser(context.Background(), directory.NewUser{Email: "carol@example.org", Password: "carol pw",
		Attributes: store.Attributes{DisplayName: "Carol"}}); err != nil {
		t.Fatal(err)
	}
	autodiscover.Routes(a.Router, autodiscover.New(autodiscover.Options{Directory: a.Dir, Hostname: a.Cfg.Hostname, Logger: a.Log}))
	base := "https://" + a.Addr("https")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the server's self-signed certificate
	}}
	t.Cleanup(client.CloseIdleConnections)

	req, _ := http.NewRequest("POST", base+"/AutoDiscover/AutoDiscover.xml", strings.NewReader(request))
	req.SetBasicAuth("carol@example.org", "carol pw")
	req.Header.Set("Content-Type", "text/xml")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "<Url>https://mail.example.org/Microsoft-Server-ActiveSync</Url>"
	if resp.StatusCode != 200 || !strings.Contains(string(body), want) || !strings.Contains(string(body), "<DisplayName>Carol</DisplayName>") {
		t.Fatalf("status %d\n%s", resp.StatusCode, body)
	}

	resp, err = client.Get(base + "/autodiscover/autodiscover.json/v1.0/carol@example.org?Protocol=ActiveSync")
	if err != nil {
		t.Fatal(err)
	}
	var ans struct{ Protocol, Url string }
	err = json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || ans.Url != "https://mail.example.org/Microsoft-Server-ActiveSync" {
		t.Errorf("json: %d %+v %v", resp.StatusCode, ans, err)
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl not found: the curl half is skipped")
		return
	}
	// curl as a phone would: wrong password first, then the right one.
	out, err := exec.Command(curl, "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-u", "carol@example.org:wrong",
		"-H", "Content-Type: text/xml", "--data-binary", request, base+"/Autodiscover/Autodiscover.xml").Output()
	if err != nil || string(out) != "401" {
		t.Errorf("curl, wrong password: %q %v", out, err)
	}
	out, err = exec.Command(curl, "-sk", "-u", "carol@example.org:carol pw", "-H", "Content-Type: text/xml",
		"-H", "Host: autodiscover.example.org", "--data-binary", request, base+"/autodiscover/autodiscover.xml").Output()
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("curl: %v\n%s", err, out)
	}
}
