package imap

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSearchAgainstDovecot appends the message corpus to Gatehouse and to a private
// Dovecot (Debian's dovecot-imapd, installed by .ci/run; the test is skipped without
// it or without root, which Dovecot needs to switch to its mail user) and compares the
// answers to the same SEARCH and STATUS commands: Dovecot is the oracle for what the
// keys of RFC 9051 6.4.4 select. Differences kept on purpose are in
// docs/ARCHITECTURE.md ("Side by side with Dovecot").
func TestSearchAgainstDovecot(t *testing.T) {
	t.Parallel()
	dovecot, err := exec.LookPath("dovecot")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs dovecot (Debian dovecot-imapd) and root")
	}
	files, _ := filepath.Glob("../message/testdata/*.eml")
	if len(files) == 0 {
		t.Skip("no corpus")
	}
	dvAddr := startDovecot(t, dovecot)
	e := newEnv(t)
	gh := e.raw()
	gh.cmd(`LOGIN alice@example.org "` + testPassword + `"`)
	dv := dialRaw(t, dvAddr)
	if got := dv.cmd(`LOGIN alice "` + testPassword + `"`); !strings.Contains(lastLine(got), " OK") {
		t.Fatalf("Dovecot login: %s", got)
	}
	n := 0
	for i, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Dovecot answers with CRLF line ends whatever was stored; a client sends them.
		msg = regexp.MustCompile(`\r?\n`).ReplaceAll(msg, []byte("\r\n"))
		if len(bytes.TrimSpace(msg)) == 0 {
			continue // Dovecot refuses an empty message
		}
		flags := []string{"", `\Seen`, `\Seen \Answered`, `\Flagged $Work`}[i%4]
		date := fmt.Sprintf(`"%02d-Mar-2026 10:%02d:00 +0100"`, 1+i%3, i)
		for _, r := range []*raw{gh, dv} {
			r.tag++
			tag := "a" + strconv.Itoa(r.tag)
			fmt.Fprintf(r.c, "%s APPEND INBOX (%s) %s {%d+}\r\n%s\r\n", tag, flags, date, len(msg), msg)
			for {
				l := r.line()
				if strings.HasPrefix(l, tag+" ") {
					if !strings.HasPrefix(l, tag+" OK") {
						t.Fatalf("APPEND %s: %s", f, l)
					}
					break
				}
			}
		}
		n++
	}
	for _, r := range []*raw{gh, dv} {
		if got := r.cmd("SELECT INBOX"); !strings.Contains(got, fmt.Sprintf("* %d EXISTS", n)) {
			t.Fatalf("SELECT: %s", got)
		}
	}
	searchLine := func(answer string) string {
		for _, l := range strings.Split(answer, "\r\n") {
			if strings.HasPrefix(l, "* SEARCH") {
				return l
			}
		}
		return "no SEARCH in " + answer
	}
	for _, key := range []string{
		"ALL", "UNSEEN", "SEEN NOT ANSWERED", "FLAGGED", "KEYWORD $Work", "UNKEYWORD $Work", "DRAFT", "DELETED",
		"NEW", "OLD", "RECENT",
		"SUBJECT report", "SUBJECT Gr\u00fc\u00dfe", "SUBJECT \"\"", "FROM alice", "FROM example.org", "TO bob", "CC carol",
		"BCC nobody", "HEADER Message-ID example", "HEADER X-Nope \"\"", "HEADER Subject \"\"", "HEADER Content-Type mixed",
		"BODY dinner", "BODY Dinner", "TEXT dinner", "BODY report", "TEXT Quarterly", "TEXT \u65e5\u672c",
		"LARGER 2000", "SMALLER 500", "LARGER 100 SMALLER 1000",
		"SENTSINCE 10-Jun-2025", "SENTBEFORE 5-Jun-2025", "SENTON 6-Jun-2025", "SENTON 1-Jan-1970",
		"SINCE 2-Mar-2026", "BEFORE 2-Mar-2026", "ON 3-Mar-2026",
		"1:5 UNSEEN", "UID 3:7", "*", "2,4:6,20:*",
		"OR SEEN FLAGGED", "NOT SEEN", "OR (SUBJECT report) (FROM carol)", "NOT (OR BODY dinner LARGER 1000)",
	} {
		var cmd string
		if isASCII(key) {
			cmd = "SEARCH " + key
		} else {
			cmd = "SEARCH CHARSET UTF-8 " + key // 8-bit as a quoted string: Dovecot wants a literal
			cmd = strings.Replace(cmd, " "+lastWord(key), fmt.Sprintf(" {%d+}\r\n%s", len(lastWord(key)), lastWord(key)), 1)
		}
		want, got := searchLine(dv.cmd("%s", cmd)), searchLine(gh.cmd("%s", cmd))
		if got != want {
			t.Errorf("%s:\n Dovecot   %s\n Gatehouse %s", key, want, got)
		}
	}
	status := func(r *raw) string {
		for _, l := range strings.Split(r.cmd("STATUS INBOX (MESSAGES UNSEEN SIZE)"), "\r\n") {
			if strings.HasPrefix(l, "* STATUS") {
				return strings.Replace(strings.Replace(l, `"INBOX"`, "INBOX", 1), "STATUS INBOX ", "", 1)
			}
		}
		return ""
	}
	if want, got := status(dv), status(gh); got != want || got == "" {
		t.Errorf("STATUS: Dovecot %q, Gatehouse %q", want, got)
	}
}

func lastWord(s string) string { return s[strings.LastIndexByte(s, ' ')+1:] }

// startDovecot runs a private Dovecot 2.3 (maildir, plaintext login on 127.0.0.1 only)
// for user alice with testPassword, stopped by its PID when the test ends, and returns
// its address.
func startDovecot(t *testing.T, bin string) string {
	t.Helper()
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody for Dovecot's mail")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	// The mail user walks down to its maildir: the directories t.TempDir made are
	// opened to it, and every one above must let it pass already.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is closed to Dovecot's mail user", d)
		}
		if d == "/" {
			break
		}
	}
	home := filepath.Join(dir, "mail", "alice")
	for _, d := range []string{filepath.Join(dir, "run"), filepath.Join(dir, "state"), home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, fmt.Appendf(nil, "alice:{PLAIN}%s:%d:%d::%s::\n", testPassword, uid, gid, home), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[2]s
}
userdb {
  driver = passwd-file
  args = %[2]s
}
first_valid_uid = %[3]d
last_valid_uid = %[3]d
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, dir, passwd, uid, addr.Port), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.Dial("tcp", addr.String())
		if err == nil {
			c.Close()
			return addr.String()
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("Dovecot did not listen: %v\n%s\n%s", err, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
