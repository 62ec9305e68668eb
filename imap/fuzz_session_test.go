package imap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// panicWatch is a slog handler that records whether a panic was logged, by the session
// (which turns one into NO [SERVERBUG]) or by the library (which drops the connection).
type panicWatch struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatch) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *panicWatch) WithGroup(string) slog.Handler            { return p }
func (p *panicWatch) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.String()
		return true
	})
	if strings.Contains(strings.ToLower(text), "panic") {
		p.mu.Lock()
		p.panics = append(p.panics, text)
		p.mu.Unlock()
	}
	return nil
}

// FuzzSessionCommands sends arbitrary bytes as the commands of a logged-in session
// with INBOX (a few messages, flags, a subfolder) selected. No input may panic the
// server, and afterwards a new session must log in, select and fetch as usual (RFC
// 9051 says what the answers are; here: bad input gets a protocol error, never a
// crash or a wedged server). The seeds run with every `go test`; under -fuzz the
// engine manages about one input a second here (the instrumented SQLite), so the seeds
// carry the hostile cases: deep nesting, long sets, literals, renames into oneself.
func FuzzSessionCommands(f *testing.F) {
	for _, seed := range []string{
		"a FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)\r\n",
		"a FETCH 4294967295 BODY[1.2.3.4.5]<4294967295.1>\r\nb UID FETCH 0:* BINARY[1]\r\n",
		"a SEARCH OR (SUBJECT \"%\") NOT (FROM \"_\") LARGER 0 SENTBEFORE 1-Jan-1900\r\n",
		"a SEARCH CHARSET UTF-8 TEXT {3+}\r\n\xe2\x82\xac\r\n",
		"a STORE 1:* +FLAGS (\\Seen $Kw)\r\nb COPY 1:* Sub\r\nc MOVE 2 INBOX\r\nd EXPUNGE\r\n",
		"a APPEND INBOX (\\Flagged) {5+}\r\nhello\r\nb NOOP\r\n",
		"a RENAME INBOX Old\r\nb DELETE Sub\r\nc CREATE a/b/c\r\nd LIST \"\" * RETURN (STATUS (MESSAGES RECENT SIZE))\r\n",
		"a IDLE\r\nDONE\r\nb UNSELECT\r\nc EXAMINE INBOX\r\nd FETCH 1 BODY[HEADER.FIELDS.NOT (Subject)]\r\n",
		"a FETCH 1 (BODY.PEEK[]<0.>)\r\n",
		"a FETCH 1 BODY[{2}\r\n",
		"a RENAME Sub Sub/Child\r\nb CREATE INBOX/x\r\nc DELETE INBOX\r\nd COPY 1:* INBOX\r\ne COPY 1:* INBOX\r\n",
		"a UID SEARCH UID 1:4294967295 NOT UID 5 RETURN (MIN MAX COUNT SAVE)\r\nb UID FETCH $ (FLAGS)\r\n",
		"a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT APPENDLIMIT)\r\nb SELECT \"../bob@example.org/INBOX\"\r\n",
		"a ENABLE IMAP4rev2 UTF8=ACCEPT\r\nb FETCH 1:* (ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)] BINARY.SIZE[1])\r\n",
	} {
		f.Add(seed)
	}
	// Deep nesting and long lines: the parser's recursion and the server's limits.
	f.Add("a SEARCH " + strings.Repeat("(", 3000) + "ALL" + strings.Repeat(")", 3000) + "\r\n")
	f.Add("a SEARCH " + strings.Repeat("NOT ", 3000) + "ALL\r\n")
	f.Add("a SEARCH " + strings.Repeat("OR ALL ", 3000) + "ALL\r\n")
	f.Add("a FETCH " + strings.Repeat("1,", 30000) + "2 (FLAGS)\r\n")
	// One server for every input (a store per input would spend its time on argon2
	// and SQLite set-up); each input gets a fresh account to work in.
	watch := &panicWatch{}
	e := newEnvWith(f, func(o *Options) { o.Logger = slog.New(watch) })
	ctx := context.Background()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, script string) {
		// A wedged server fails the input with every goroutine's stack (the fuzzing
		// engine keeps the input of a worker that dies).
		hung := time.AfterFunc(30*time.Second, func() {
			buf := make([]byte, 4<<20)
			panic(fmt.Sprintf("input %q hung:\n%s", script, buf[:runtime.Stack(buf, true)]))
		})
		defer hung.Stop()
		user := fmt.Sprintf("fuzz%d@example.org", n.Add(1))
		acct, _, err := e.dir.CreateUser(ctx, directory.NewUser{Email: user, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		p := store.Principal{AccountID: acct.ID}
		for i, subject := range []string{"one", "two", "three"} {
			opts := store.DeliverOptions{}
			if i == 1 {
				opts.Flags, opts.Keywords = store.FlagSeen, []string{"$Work"}
			}
			if _, err := e.st.Deliver(ctx, p, 0, []byte(textMessage(subject, "body "+subject)), opts); err != nil {
				t.Fatal(err)
			}
		}
		login := `LOGIN ` + user + ` "` + testPassword + `"`
		setup := dialRaw(t, e.addr)
		setup.cmd(login)
		setup.cmd("CREATE Sub")
		setup.cmd("SELECT INBOX")

		// The script, then LOGOUT; whatever comes back is read until the server closes
		// or a few seconds pass (an unfinished literal waits for its bytes).
		setup.c.SetDeadline(time.Now().Add(3 * time.Second))
		go func() {
			io.WriteString(setup.c, script+"\r\nzz LOGOUT\r\n")
		}()
		io.Copy(io.Discard, setup.r)
		setup.c.Close()

		after := dialRaw(t, e.addr)
		for _, c := range []string{login, "LIST \"\" *", "SELECT INBOX", "UID FETCH 1:* (UID FLAGS)", "LOGOUT"} {
			if got := after.cmd("%s", c); !strings.Contains(lastLine(got), " OK") {
				t.Fatalf("after the script, %s: %s", c, got)
			}
		}
		watch.mu.Lock()
		defer watch.mu.Unlock()
		if len(watch.panics) > 0 {
			t.Fatalf("panic on %q: %v", script, watch.panics)
		}
	})
}

// lastLine is the tagged response of a cmd answer.
func lastLine(answer string) string {
	sc := bufio.NewScanner(strings.NewReader(answer))
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	return last
}
