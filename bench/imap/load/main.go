// Command load is the IMAP load generator of bench/imap/run.sh, written on go-imap/v2's
// imapclient so that neither server under test is measured with a client written for it.
// It talks plain IMAP on loopback (LOGIN without TLS) and prints one line per figure:
//
//	RESULT test=NAME key=value ...
//
// Tests (-test):
//
//	append  APPEND -n distinct messages of 1–3 KB to INBOX sequentially over one
//	        connection; every third one with \Seen. Reports msgs/s.
//	fetch   SELECT INBOX, then UID FETCH 1:* (FLAGS ENVELOPE) -reps times; reports the
//	        median, min and max seconds per full fetch (until the client has parsed the
//	        whole response), then -reps more timed until the tagged OK arrived with the
//	        answer held from the client meanwhile (eager.go: the server's time, the
//	        client parsing afterwards), and the SELECT time.
//	headers as fetch, with the header FETCH Thunderbird sends to sync a folder: UID
//	        RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc ... Reply-To)].
//	search  UID SEARCH by SUBJECT, FROM, BODY and UNSEEN, -reps times each; median seconds
//	        and the number of hits.
//	store   UID STORE 1:* +FLAGS (\Seen), -reps times (median seconds), each followed by an
//	        untimed UID STORE 1:* -FLAGS.SILENT (\Seen) so that every timed one changes
//	        every message.
//	populate  APPEND -n messages numbered from -first over -par connections at once (to
//	        fill a big mailbox; reports msgs/s but is not a comparison figure).
//	maildir   write -n messages numbered from -first straight into -dir/cur as maildir
//	        files (no IMAP): Dovecot's big mailbox, as an LDA would deliver it.
//	push    IDLE on INBOX while -n messages arrive over SMTP (-smtp) one at a time:
//	        p50/p99/max seconds until each EXISTS (see push.go).
//	idle    -conns connections (-par at a time), each LOGIN, SELECT INBOX, IDLE; prints "READY n" and holds
//	        them until SIGTERM or SIGINT, then ends them cleanly (IDLE done, LOGOUT). With -step k
//	        it pauses after every k connections, prints "STEP n" and waits for SIGUSR1.
//
// Messages are deterministic (seeded), so both servers get the same bytes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var (
	addr  = flag.String("addr", "127.0.0.1:143", "server HOST:PORT (plain IMAP)")
	user  = flag.String("user", "", "login name")
	pass  = flag.String("pass", "", "password (or -pass-file)")
	passF = flag.String("pass-file", "", "read the password from this file")
	test  = flag.String("test", "", "append|fetch|search|store|idle|populate|maildir|push")
	n     = flag.Int("n", 2000, "append, populate: number of messages")
	first = flag.Int("first", 0, "populate, maildir: index of the first message (after those of append)")
	dir   = flag.String("dir", "", "maildir: the Maildir to write into (its cur/)")
	reps  = flag.Int("reps", 5, "fetch, search, store: timed repetitions")
	conns = flag.Int("conns", 200, "idle: number of connections")
	par   = flag.Int("par", 1, "idle: connections being set up at once")
	step  = flag.Int("step", 0, "idle: after every step connections, print STEP n and wait for SIGUSR1")
	seed  = flag.Uint64("seed", 1, "append: message generator seed")
)

func main() {
	flag.Parse()
	if *passF != "" {
		b, err := os.ReadFile(*passF)
		if err != nil {
			fatal(err)
		}
		*pass = string(bytes.TrimSpace(b))
	}
	var err error
	switch *test {
	case "append":
		err = runAppend()
	case "fetch":
		err = runFetch(false)
	case "headers":
		err = runFetch(true)
	case "search":
		err = runSearch()
	case "store":
		err = runStore()
	case "idle":
		err = runIdle()
	case "populate":
		err = runPopulate()
	case "maildir":
		err = runMaildir()
	case "push":
		err = runPush()
	default:
		err = fmt.Errorf("unknown -test %q", *test)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "load: %v\n", err)
	os.Exit(1)
}

func dial() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(*addr, nil)
	if err != nil {
		return nil, err
	}
	return c, login(c)
}

// dialEager is dial over an eagerConn, whose last arrival times the server's answer.
func dialEager() (*imapclient.Client, *eagerConn, error) {
	conn, err := net.Dial("tcp", *addr)
	if err != nil {
		return nil, nil, err
	}
	ec := newEagerConn(conn)
	c := imapclient.New(ec, nil)
	return c, ec, login(c)
}

func login(c *imapclient.Client) error {
	if err := c.Login(*user, *pass).Wait(); err != nil {
		c.Close()
		return fmt.Errorf("LOGIN: %w", err)
	}
	return nil
}

func logout(c *imapclient.Client) {
	c.Logout().Wait()
	c.Close()
}

var (
	senders = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	topics  = []string{"budget", "quarterly", "offsite", "release", "invoice", "hiring", "roadmap", "lunch"}
	words   = []string{"the", "of", "meeting", "report", "numbers", "team", "project", "draft", "review",
		"customer", "server", "weekly", "update", "please", "thanks", "agenda", "notes", "plan", "status",
		"deadline", "question", "answer", "office", "travel", "contract", "schedule", "change", "issue"}
)

// message returns the i-th message (1–3 KB) of the generator. One in ten bodies holds the
// word "zebra" (the BODY search), subjects cycle through topics ("quarterly" is one in
// eight), senders through ten names ("carol" is one in ten).
func message(i int) []byte {
	r := rand.New(rand.NewPCG(*seed, uint64(i)))
	size := 1024 + r.IntN(2049)
	from := senders[i%len(senders)]
	topic := topics[i%len(topics)]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s@example.net>\r\n", titled(from), from)
	fmt.Fprintf(&b, "To: Bench <bench@example.org>\r\n")
	fmt.Fprintf(&b, "Subject: %s discussion %d\r\n", topic, i)
	fmt.Fprintf(&b, "Message-ID: <load-%d-%d@example.net>\r\n", *seed, i)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	col := 0
	for j := 0; b.Len() < size-2; j++ {
		w := words[r.IntN(len(words))]
		if i%10 == 3 && j == 40 {
			w = "zebra"
		}
		if col+len(w) > 72 {
			b.WriteString("\r\n")
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func titled(s string) string { return string(s[0]-'a'+'A') + s[1:] }

func runAppend() error {
	msgs := make([][]byte, *n)
	var total int
	for i := range msgs {
		msgs[i] = message(i)
		total += len(msgs[i])
	}
	c, err := dial()
	if err != nil {
		return err
	}
	defer logout(c)
	t0 := time.Now()
	for i, m := range msgs {
		var opts *imap.AppendOptions
		if i%3 == 0 {
			opts = &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}}
		}
		cmd := c.Append("INBOX", int64(len(m)), opts)
		if _, err := cmd.Write(m); err != nil {
			return fmt.Errorf("APPEND %d: %w", i, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("APPEND %d: %w", i, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("APPEND %d: %w", i, err)
		}
	}
	el := time.Since(t0).Seconds()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return fmt.Errorf("STATUS: %w", err)
	}
	fmt.Printf("RESULT test=append n=%d bytes=%d seconds=%.3f rate=%.1f status_messages=%d\n",
		*n, total, el, float64(*n)/el, deref(st.NumMessages))
	if int(deref(st.NumMessages)) < *n {
		return fmt.Errorf("STATUS INBOX says %d messages after %d APPENDs", deref(st.NumMessages), *n)
	}
	return nil
}

func deref(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

func selectInbox(c *imapclient.Client) (uint32, float64, error) {
	t0 := time.Now()
	d, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return 0, 0, fmt.Errorf("SELECT: %w", err)
	}
	return d.NumMessages, time.Since(t0).Seconds(), nil
}

func allUIDs() imap.UIDSet { return imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}} }

func stats(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	med = s[m]
	if len(s)%2 == 0 {
		med = (s[m-1] + s[m]) / 2
	}
	return med, s[0], s[len(s)-1]
}

// thunderbirdHeaders are the fields Thunderbird fetches for its message list when it
// syncs a folder (BODY.PEEK[HEADER.FIELDS (...)] with UID, RFC822.SIZE and FLAGS).
var thunderbirdHeaders = []string{"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority",
	"X-Priority", "References", "Newsgroups", "In-Reply-To", "Content-Type", "Reply-To"}

func runFetch(headers bool) error {
	c, ec, err := dialEager()
	if err != nil {
		return err
	}
	defer logout(c)
	exists, sel, err := selectInbox(c)
	if err != nil {
		return err
	}
	opts := &imap.FetchOptions{UID: true, Flags: true, Envelope: true}
	test, what := "fetch", "envelopes"
	if headers {
		opts = &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{
			{Specifier: imap.PartSpecifierHeader, HeaderFields: thunderbirdHeaders, Peek: true},
		}}
		test, what = "headers", "header sections"
	}
	fetch := func() (int, error) {
		cmd := c.Fetch(allUIDs(), opts)
		got := 0
		for {
			m := cmd.Next()
			if m == nil {
				break
			}
			ok := false
			for {
				it := m.Next()
				if it == nil {
					break
				}
				switch it := it.(type) {
				case imapclient.FetchItemDataEnvelope:
					ok = it.Envelope != nil
				case imapclient.FetchItemDataBodySection:
					b, err := io.ReadAll(it.Literal)
					ok = err == nil && len(b) > 0
				}
			}
			if ok {
				got++
			}
		}
		if err := cmd.Close(); err != nil {
			return got, fmt.Errorf("UID FETCH: %w", err)
		}
		if got != int(exists) {
			return got, fmt.Errorf("UID FETCH 1:* returned %d %s, SELECT said %d messages", got, what, exists)
		}
		return got, nil
	}
	// Client-inclusive: until the client has parsed the whole answer.
	var times, arrived []float64
	for range *reps {
		t0 := time.Now()
		if _, err := fetch(); err != nil {
			return err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	// The server's time: until the tagged OK arrived, the client parsing only after.
	for range *reps {
		ec.hold()
		t0 := time.Now()
		if _, err := fetch(); err != nil {
			return err
		}
		arrived = append(arrived, ec.taggedAt().Sub(t0).Seconds())
	}
	med, lo, hi := stats(times)
	medArrived, _, _ := stats(arrived)
	fmt.Printf("RESULT test=%s messages=%d select_seconds=%.4f reps=%d median=%.4f min=%.4f max=%.4f arrived_median=%.4f\n",
		test, exists, sel, *reps, med, lo, hi, medArrived)
	return nil
}

func runSearch() error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer logout(c)
	if _, _, err := selectInbox(c); err != nil {
		return err
	}
	crits := []struct {
		name string
		c    imap.SearchCriteria
	}{
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "quarterly"}}}},
		{"from", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "carol"}}}},
		{"body", imap.SearchCriteria{Body: []string{"zebra"}}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}},
	}
	for _, cr := range crits {
		var times []float64
		var hits int
		for range *reps {
			t0 := time.Now()
			d, err := c.UIDSearch(&cr.c, nil).Wait()
			if err != nil {
				return fmt.Errorf("UID SEARCH %s: %w", cr.name, err)
			}
			times = append(times, time.Since(t0).Seconds())
			hits = len(d.AllUIDs())
		}
		med, lo, hi := stats(times)
		fmt.Printf("RESULT test=search_%s hits=%d reps=%d median=%.4f min=%.4f max=%.4f\n", cr.name, hits, *reps, med, lo, hi)
	}
	return nil
}

func runStore() error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer logout(c)
	exists, _, err := selectInbox(c)
	if err != nil {
		return err
	}
	seen := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}
	unseen := &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	// Start from no \Seen anywhere, untimed.
	if err := c.Store(allUIDs(), unseen, nil).Close(); err != nil {
		return fmt.Errorf("UID STORE -FLAGS: %w", err)
	}
	var times []float64
	var got int
	for range *reps {
		t0 := time.Now()
		cmd := c.Store(allUIDs(), seen, nil)
		got = 0
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			for it := m.Next(); it != nil; it = m.Next() {
			}
			got++
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("UID STORE +FLAGS: %w", err)
		}
		times = append(times, time.Since(t0).Seconds())
		if err := c.Store(allUIDs(), unseen, nil).Close(); err != nil {
			return fmt.Errorf("UID STORE -FLAGS: %w", err)
		}
	}
	med, lo, hi := stats(times)
	fmt.Printf("RESULT test=store messages=%d fetch_replies=%d reps=%d median=%.4f min=%.4f max=%.4f\n",
		exists, got, *reps, med, lo, hi)
	return nil
}

func runIdle() error {
	type conn struct {
		c    *imapclient.Client
		idle *imapclient.IdleCommand
	}
	cs := make([]conn, *conns)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, max(*par, 1))
	)
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGUSR1)
	t0 := time.Now()
	for i := range cs {
		if *step > 0 && i > 0 && i%*step == 0 {
			wg.Wait()
			if first != nil {
				break
			}
			{
				fmt.Printf("STEP %d seconds=%.3f\n", i, time.Since(t0).Seconds())
				os.Stdout.Sync()
				<-cont
			}
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := func() error {
				c, err := dial()
				if err != nil {
					return err
				}
				cs[i].c = c
				if _, _, err := selectInbox(c); err != nil {
					return err
				}
				cs[i].idle, err = c.Idle()
				if err != nil {
					return fmt.Errorf("IDLE: %w", err)
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("connection %d: %w", i, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	closeAll := func() {
		for _, x := range cs {
			if x.idle != nil {
				x.idle.Close()
				x.idle.Wait()
			}
			if x.c != nil {
				logout(x.c)
			}
		}
	}
	if first != nil {
		closeAll()
		return first
	}
	fmt.Printf("READY %d seconds=%.3f\n", len(cs), time.Since(t0).Seconds())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	dead := 0
	for _, x := range cs {
		select {
		case <-x.c.Closed():
			dead++
		default:
		}
	}
	closeAll()
	fmt.Printf("RESULT test=idle conns=%d dropped_while_held=%d\n", len(cs), dead)
	if dead > 0 {
		return errors.New("server closed idle connections while they were held")
	}
	return nil
}

func runPopulate() error {
	var (
		mu    sync.Mutex
		next  = *first
		end   = *first + *n
		errs  []error
		wg    sync.WaitGroup
		total int
	)
	cs := make([]*imapclient.Client, max(*par, 1))
	for i := range cs {
		c, err := dial()
		if err != nil {
			return err
		}
		defer logout(c)
		cs[i] = c
	}
	t0 := time.Now()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= end || len(errs) > 0
				mu.Unlock()
				if stop {
					return
				}
				m := message(i)
				cmd := c.Append("INBOX", int64(len(m)), nil)
				_, err := cmd.Write(m)
				if err == nil {
					err = cmd.Close()
				}
				if err == nil {
					_, err = cmd.Wait()
				}
				mu.Lock()
				total += len(m)
				if err != nil {
					errs = append(errs, fmt.Errorf("APPEND %d: %w", i, err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	el := time.Since(t0).Seconds()
	st, err := cs[0].Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return fmt.Errorf("STATUS: %w", err)
	}
	fmt.Printf("RESULT test=populate n=%d par=%d bytes=%d seconds=%.3f rate=%.1f status_messages=%d\n",
		*n, len(cs), total, el, float64(*n)/el, deref(st.NumMessages))
	return nil
}

func runMaildir() error {
	if *dir == "" {
		return errors.New("maildir: -dir is required")
	}
	cur := filepath.Join(*dir, "cur")
	if err := os.MkdirAll(cur, 0o700); err != nil {
		return err
	}
	for _, d := range []string{"new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(*dir, d), 0o700); err != nil {
			return err
		}
	}
	t0 := time.Now()
	base := t0.Unix()
	pid := os.Getpid()
	for i := *first; i < *first+*n; i++ {
		m := message(i)
		name := fmt.Sprintf("%d.M%dP%d.bench,S=%d:2,", base, i, pid, len(m))
		if err := os.WriteFile(filepath.Join(cur, name), m, 0o600); err != nil {
			return err
		}
	}
	fmt.Printf("RESULT test=maildir n=%d seconds=%.3f\n", *n, time.Since(t0).Seconds())
	return nil
}
