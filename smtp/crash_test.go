package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// The promise behind 250: a child process serving MX and submission is killed with
// SIGKILL in the middle of concurrent sessions; after restart every message that got
// 250 is in a mailbox (local recipients) and in the queue (remote ones).
func TestCrashKeepsAcceptedMail(t *testing.T) {
	if os.Getenv("GATEHOUSE_SMTP_CRASH_DIR") != "" {
		crashServe(os.Getenv("GATEHOUSE_SMTP_CRASH_DIR"))
		return
	}
	if testing.Short() {
		t.Skip("crash test spawns a process")
	}
	dir := t.TempDir()
	st, _ := newStoreIn(t, dir)
	st.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcceptedMail$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_SMTP_CRASH_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var mx, sub string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "READY %s %s", &mx, &sub); err == nil {
			break
		}
	}
	if mx == "" {
		t.Fatal("child did not start")
	}
	go io.Copy(io.Discard, out)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			submission := g%2 == 1
			addr := mx
			if submission {
				addr = sub
			}
			c, err := gosmtp.Dial(addr)
			if err != nil {
				return
			}
			defer c.Close()
			if submission {
				if c.Auth(sasl.NewPlainClient("", "alice@example.org", testPassword)) != nil {
					return
				}
			}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				tok := fmt.Sprintf("tok-%d-%d", g, n)
				rcpts := []string{"bob@example.org"}
				from := "sender@remote.example"
				if submission {
					from = "alice@example.org"
					rcpts = append(rcpts, tok+"@remote.example")
				}
				body := "Subject: " + tok + "\r\n\r\n" + strings.Repeat("crash test body line\r\n", 40)
				if err := c.SendMail(from, rcpts, strings.NewReader(body)); err != nil {
					return // the kill
				}
				mu.Lock()
				acked = append(acked, tok)
				mu.Unlock()
			}
		}()
	}
	// Kill once a good number of messages were acknowledged, mid-stream.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()

	st, err = store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	inboxCount := map[string]int{}
	for _, m := range inbox(t, st, "bob@example.org") {
		inboxCount[subjectOf(m)]++
	}
	queued := map[string]bool{}
	q, err := st.QueueList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range q {
		raw, err := st.QueueMessage(ctx, e.MsgID)
		if err != nil {
			t.Fatalf("queued message %d unreadable: %v", e.MsgID, err)
		}
		if tok := strings.TrimSuffix(e.Rcpt, "@remote.example"); subjectOf(string(raw)) == tok {
			queued[tok] = true
		}
	}
	if len(acked) == 0 {
		t.Fatal("no message acknowledged before the kill")
	}
	for _, tok := range acked {
		if inboxCount[tok] != 1 {
			t.Errorf("%s acknowledged, in the Inbox %d times", tok, inboxCount[tok])
		}
		var g, n int
		fmt.Sscanf(tok, "tok-%d-%d", &g, &n)
		if g%2 == 1 && !queued[tok] {
			t.Errorf("%s acknowledged, its remote recipient is not queued", tok)
		}
	}
	// Whatever was stored without an acknowledgement (killed between commit and
	// reply) is allowed; nothing is stored twice.
	for tok, n := range inboxCount {
		if n > 1 {
			t.Errorf("%s stored %d times", tok, n)
		}
	}
	t.Logf("%d acknowledged, %d in the Inbox, %d queued", len(acked), len(inboxCount), len(queued))
}

func subjectOf(m string) string {
	for _, l := range strings.Split(m, "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			return s
		}
		if l == "" {
			break
		}
	}
	return ""
}

// newStoreIn is newStore in a given directory.
func newStoreIn(t testing.TB, dir string) (*store.Store, *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if _, _, err := d.CreateUser(ctx, directory.NewUser{Email: u, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	return st, d
}

// crashServe is the child: MX and submission on 127.0.0.1 until killed.
func crashServe(dir string) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	var addrs []string
	for _, mode := range []Mode{MX, Submission} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		addrs = append(addrs, ln.Addr().String())
		go New(Options{Store: st, Directory: d, Hostname: "mx.example.org", Mode: mode}).Serve(ln)
	}
	fmt.Printf("READY %s %s\n", addrs[0], addrs[1])
	select {}
}
