package smtp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Clients nobody here wrote: Python's smtplib, curl and swaks (DESIGN.md §5).

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s); skipping", name, map[string]string{"python3": "python3", "curl": "curl", "swaks": "swaks"}[name])
	}
	return p
}

const pySubmit = `
import smtplib, sys
host, port, user, pw, mech = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = smtplib.SMTP(host, port, local_hostname="pyclient.test", timeout=20)
s.ehlo()
assert s.has_extn("auth"), "AUTH not offered"
if mech == "LOGIN":
    s.user, s.password = user, pw
    s.auth("LOGIN", s.auth_login)
else:
    s.user, s.password = user, pw
    s.auth("PLAIN", s.auth_plain)
msg = "From: %s\r\nTo: bob@example.org\r\nSubject: from python %s\r\n\r\nHello from smtplib.\r\n" % (user, mech)
refused = s.sendmail(user, ["bob@example.org", "alice@example.org"], msg)
assert not refused, refused
try:
    s.sendmail(user, ["nobody@example.org"], msg)
    print("UNKNOWN-ACCEPTED")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", e.recipients["nobody@example.org"][0])
try:
    s.sendmail("bob@example.org", ["alice@example.org"], msg)
    print("FORGED-ACCEPTED")
except smtplib.SMTPSenderRefused as e:
    print("sender refused", e.smtp_code)
s.quit()
`

func TestPythonSmtplibSubmission(t *testing.T) {
	py := needTool(t, "python3")
	st, d := newStore(t)
	e := startServer(t, st, d, Submission, nil)
	host, port, _ := strings.Cut(e.addr, ":")
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		out, err := exec.Command(py, "-c", pySubmit, host, port, "alice@example.org", testPassword, mech).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mech, err, out)
		}
		if got := string(out); !strings.Contains(got, "refused 550") || !strings.Contains(got, "sender refused 553") {
			t.Errorf("%s: %s", mech, got)
		}
	}
	bob, alice := inbox(t, st, "bob@example.org"), inbox(t, st, "alice@example.org")
	if len(bob) != 2 || len(alice) != 2 {
		t.Fatalf("bob %d, alice %d messages; want 2 each", len(bob), len(alice))
	}
	if !strings.Contains(bob[1], "Subject: from python LOGIN") || !strings.Contains(bob[0], "Message-ID: <") {
		t.Errorf("bob's messages:\n%s\n%s", bob[0], bob[1])
	}
}

// As a person following a tutorial would: curl uploads a file to the MX.
func TestCurlDeliversToLocalUser(t *testing.T) {
	curl := needTool(t, "curl")
	st, d := newStore(t)
	e := startServer(t, st, d, MX, nil)
	foo := filepath.Join(t.TempDir(), "foo.txt")
	os.WriteFile(foo, []byte("From: someone@remote.example\nTo: bob@example.org\nSubject: curl test\n\nSent with curl.\n"), 0o644)
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "smtp://"+e.addr, "--mail-from", "someone@remote.example",
		"--mail-rcpt", "bob@example.org", "--upload-file", foo).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	got := inbox(t, st, "bob@example.org")
	if len(got) != 1 || !strings.Contains(got[0], "Subject: curl test") || !strings.Contains(got[0], "Sent with curl.") {
		t.Fatalf("bob's inbox: %q", got)
	}
	// And curl to a remote domain is refused.
	out, err = exec.Command(curl, "-sS", "--max-time", "20", "smtp://"+e.addr, "--mail-from", "someone@remote.example",
		"--mail-rcpt", "victim@elsewhere.example", "--upload-file", foo).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "550") {
		t.Fatalf("curl relay: %v\n%s", err, out)
	}
}

func TestSwaksSubmission(t *testing.T) {
	swaks := needTool(t, "swaks")
	st, d := newStore(t)
	e := startServer(t, st, d, Submission, nil)
	out, err := exec.Command(swaks, "--server", e.addr, "--tls", "--auth", "PLAIN",
		"--auth-user", "alice@example.org", "--auth-password", testPassword,
		"--from", "al@example.org", "--to", "bob@example.org", "--header", "Subject: swaks test", "--timeout", "20").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	got := inbox(t, st, "bob@example.org")
	if len(got) != 1 || !strings.Contains(got[0], "Subject: swaks test") {
		t.Fatalf("bob's inbox: %q", got)
	}
}
