package imap

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// TestPythonImaplib drives the server with Python's imaplib (testdata/imaplib_client.py).
func TestPythonImaplib(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/imaplib_client.py", host, port, "alice@example.org", testPassword).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}

// TestMbsync syncs a mailbox both ways with isync's mbsync: 200 messages down to a
// maildir, flags changed and messages deleted and added locally, synced back, and the
// result checked in the store.
func TestMbsync(t *testing.T) {
	t.Parallel()
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync not installed (Debian package isync)")
	}
	e := newEnv(t)
	ctx := context.Background()
	alice := e.principal("alice@example.org")
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				raw := textMessage(fmt.Sprintf("message %03d", i), strings.Repeat(fmt.Sprintf("line %d of message %d\r\n", i, i), 20))
				if _, err := e.st.Deliver(ctx, alice, 0, []byte(raw), store.DeliverOptions{}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(e.addr)
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	rc := filepath.Join(dir, "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount gatehouse
Host %s
Port %s
User alice@example.org
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account gatehouse

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Near
Expunge Both
SyncState *
`, host, port, testPassword, maildir, maildir)
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, mbsync, "-c", rc, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	run()
	inbox := filepath.Join(maildir, "INBOX")
	files := func() []string {
		var out []string
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(inbox, sub))
			for _, en := range ents {
				out = append(out, filepath.Join(inbox, sub, en.Name()))
			}
		}
		sort.Strings(out)
		return out
	}
	got := files()
	if len(got) != n {
		t.Fatalf("maildir holds %d messages, want %d", len(got), n)
	}
	// Locally: flag 10 (and mark them seen), delete 5, add 1.
	var flaggedSubjects []string
	for i, f := range got[:15] {
		if i < 5 {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		flaggedSubjects = append(flaggedSubjects, subjectOf(string(raw)))
		base := filepath.Base(f)
		if i := strings.Index(base, ":2,"); i >= 0 {
			base = base[:i]
		}
		if err := os.Rename(f, filepath.Join(inbox, "cur", base+":2,FS")); err != nil {
			t.Fatal(err)
		}
	}
	local := textMessage("written offline", "hello from the maildir")
	if err := os.WriteFile(filepath.Join(inbox, "new", "1700000000.local.host"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	run()

	inboxFolder := mustFolder(t, e.st, alice, "INBOX")
	items, err := e.st.MailItemsByUID(ctx, alice, inboxFolder.ID, []store.UIDRange{{First: 1}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n-5+1 {
		t.Errorf("store holds %d messages, want %d", len(items), n-5+1)
	}
	flagged := map[string]bool{}
	uploaded := false
	for _, it := range items {
		if it.Flags&store.FlagFlagged != 0 {
			if it.Flags&store.FlagSeen == 0 {
				t.Errorf("%q flagged but not seen", it.Subject)
			}
			flagged[it.Subject] = true
		}
		if it.Subject == "written offline" {
			uploaded = true
		}
	}
	if len(flagged) != 10 {
		t.Errorf("%d messages flagged in the store, want 10", len(flagged))
	}
	for _, s := range flaggedSubjects {
		if !flagged[s] {
			t.Errorf("%q not flagged in the store", s)
		}
	}
	if !uploaded {
		t.Error("the message written to the maildir did not reach the store")
	}
	// A change in the store comes back down on the next sync.
	if _, err := e.st.SetFlags(ctx, alice, store.Selector{FolderID: inboxFolder.ID, UIDs: []store.UIDRange{{First: items[len(items)-1].UID, Last: items[len(items)-1].UID}}}, store.FlagsAdd, store.FlagAnswered, nil); err != nil {
		t.Fatal(err)
	}
	run()
	answered := 0
	for _, f := range files() {
		if i := strings.Index(f, ":2,"); i >= 0 && strings.Contains(f[i:], "R") {
			answered++
		}
	}
	if answered != 1 {
		t.Errorf("%d local messages answered, want 1", answered)
	}
}

func subjectOf(raw string) string {
	for _, line := range strings.Split(raw, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "Subject: "); ok {
			return s
		}
	}
	return ""
}
