package ldapserver

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLdapsearch runs OpenLDAP's ldapsearch (Debian package ldap-utils) against the
// server: a client nobody here wrote, with the filters Thunderbird and Outlook send.
func TestLdapsearch(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("ldapsearch")
	if err != nil {
		t.Skip("ldapsearch not installed (Debian: ldap-utils)")
	}
	e := newEnv(t, 300)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-x", "-LLL", "-o", "ldif-wrap=no", "-H", "ldap://" + e.addr}, args...)...)
		cmd.Env = append(cmd.Environ(), "LDAPTLS_REQCERT=never", "LDAPCONF=/dev/null", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-D", bobDN, "-w", "s3cret", "-b", base, "(|(cn=*marl*)(mail=*marl*)(sn=*marl*)(givenName=*marl*))", "cn", "mail", "telephoneNumber")
	if !strings.Contains(out, "dn: "+bobDN) || !strings.Contains(out, "mail: robert@example.org") || !strings.Contains(out, "telephoneNumber: +1 555-0100") {
		t.Errorf("thunderbird filter:\n%s", out)
	}
	// StartTLS (-ZZ: required) and paged results (-E pr=50/noprompt) over 301 people.
	out = run("-ZZ", "-D", "bob@example.org", "-w", "s3cret", "-b", base, "-E", "pr=50/noprompt", "(&(mail=*)(|(mail=user*)(cn=user*)(sn=bulk*)))", "1.1")
	if n := strings.Count(out, "dn: uid=user"); n != 300 {
		t.Errorf("paged over StartTLS: %d entries\n%.500s", n, out)
	}
	out = run("-D", bobDN, "-w", "s3cret", "-b", "", "-s", "base", "+")
	if !strings.Contains(out, "namingContexts: dc=example,dc=org") || !strings.Contains(out, "supportedExtension: 1.3.6.1.4.1.1466.20037") {
		t.Errorf("root DSE:\n%s", out)
	}
	cmd := exec.Command(bin, "-x", "-H", "ldap://"+e.addr, "-D", bobDN, "-w", "nope", "-b", base, "(uid=bob)")
	cmd.Env = append(cmd.Environ(), "LDAPCONF=/dev/null")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 49 {
		t.Errorf("bad password: exit %v", err)
	}
}
