package imap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// In-process benchmarks of the commands bench/imap measures against Dovecot, for
// profiling (-cpuprofile); the client's own parsing is part of each figure.

var benchOnce struct {
	sync.Once
	addr string
	dir  string
	srv  *Server
	err  error
}

// TestMain removes the benchmark mailbox's directory after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchOnce.dir != "" {
		os.RemoveAll(benchOnce.dir)
	}
	os.Exit(code)
}

// benchMessages is the size of the benchmark mailbox: IMAP_BENCH_N, default 2,000.
var benchMessages = func() int {
	if n, err := strconv.Atoi(os.Getenv("IMAP_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 2000
}()

// benchServer is one server with alice's INBOX holding benchMessages messages shaped
// like bench/imap/load's (1–3 KB text, one in ten with "zebra", one in three seen).
func benchServer(b *testing.B) string {
	benchOnce.Do(func() {
		ctx := context.Background()
		tmp := "" // on tmpfs when there is one: filling the mailbox is not what is measured
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			tmp = "/dev/shm"
		}
		dir, err := os.MkdirTemp(tmp, "imap-bench")
		if err != nil {
			benchOnce.err = err
			return
		}
		benchOnce.dir = dir
		st, err := store.Open(ctx, store.Options{Dir: dir})
		if err != nil {
			benchOnce.err = err
			return
		}
		d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
		a, _, err := d.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: testPassword})
		if err != nil {
			benchOnce.err = err
			return
		}
		p := store.Principal{AccountID: a.ID}
		inbox, _ := st.FolderByRole(ctx, p, store.RoleInbox)
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < benchMessages; i += 16 {
					var fl store.Flags
					if i%3 == 0 {
						fl = store.FlagSeen
					}
					if _, err := st.Deliver(ctx, p, inbox.ID, benchMessage(i), store.DeliverOptions{Flags: fl}); err != nil {
						benchOnce.err = err
					}
				}
			}()
		}
		wg.Wait()
		srv := New(Options{Store: st, Directory: d, MaxMessageSize: 1 << 20})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			benchOnce.err = err
			return
		}
		go srv.Serve(ln)
		benchOnce.srv = srv
		benchOnce.addr = ln.Addr().String()
	})
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	return benchOnce.addr
}

func benchMessage(i int) []byte {
	words := strings.Fields("the of meeting report numbers team project draft review customer server weekly update")
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: %s <%s@example.net>\r\nTo: Bench <bench@example.org>\r\nSubject: topic%d discussion %d\r\n", names[i%10], names[i%10], i%8, i)
	fmt.Fprintf(&sb, "Message-ID: <load-%d@example.net>\r\nDate: %s\r\n", i, time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
	sb.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	size := 1024 + (i*7919)%2048
	for j := 0; sb.Len() < size; j++ {
		w := words[(i+j*31)%len(words)]
		if i%10 == 3 && j == 40 {
			w = "zebra"
		}
		sb.WriteString(w)
		if j%10 == 9 {
			sb.WriteString("\r\n")
		} else {
			sb.WriteByte(' ')
		}
	}
	sb.WriteString("\r\n")
	return []byte(sb.String())
}

func benchClient(b *testing.B) *imapclient.Client {
	c, err := imapclient.DialInsecure(benchServer(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkFetchFlagsEnvelope(b *testing.B) {
	c := benchClient(b)
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	for b.Loop() {
		msgs, err := c.Fetch(all, &goimap.FetchOptions{Flags: true, Envelope: true, UID: true}).Collect()
		if err != nil || len(msgs) != benchMessages {
			b.Fatalf("%d messages, %v", len(msgs), err)
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	c := benchClient(b)
	for _, k := range []struct {
		name string
		c    goimap.SearchCriteria
	}{
		{"subject", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "topic3"}}}},
		{"from", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "From", Value: "carol"}}}},
		{"body", goimap.SearchCriteria{Body: []string{"zebra"}}},
		{"unseen", goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}},
	} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.UIDSearch(&k.c, nil).Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStoreFlags(b *testing.B) {
	c := benchClient(b)
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	for b.Loop() {
		if _, err := c.Store(all, &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Collect(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := c.Store(all, &goimap.StoreFlags{Op: goimap.StoreFlagsDel, Silent: true, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkSelect(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelectFirst is SELECT by the only session of the mailbox, which loads it.
func BenchmarkSelectFirst(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		if err := c.Unselect().Wait(); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// rawBenchSession logs in to the benchmark server and selects INBOX over a plain
// connection; until reads up to the tagged completion of tag, which must be OK.
func rawBenchSession(b *testing.B) (conn net.Conn, until func(tag string)) {
	conn, err := net.Dial("tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	r := bufio.NewReaderSize(conn, 1<<16)
	until = func(tag string) {
		for {
			line, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			if bytes.HasPrefix(line, []byte(tag+" ")) {
				if !bytes.HasPrefix(line, []byte(tag+" OK")) {
					b.Fatalf("%s", line)
				}
				return
			}
		}
	}
	fmt.Fprintf(conn, "a LOGIN alice@example.org %q\r\nb SELECT INBOX\r\n", testPassword)
	until("a")
	until("b")
	return conn, until
}

// BenchmarkFetchRaw is BenchmarkFetchFlagsEnvelope with a client that parses nothing: it
// reads the response until the tagged completion, so the figure is the server's.
func BenchmarkFetchRaw(b *testing.B) {
	conn, until := rawBenchSession(b)
	for b.Loop() {
		fmt.Fprintf(conn, "f UID FETCH 1:* (FLAGS ENVELOPE)\r\n")
		until("f")
	}
}

// BenchmarkEnvelopeCacheHeap measures the heap the envelope cache takes per message
// (runtime.ReadMemStats after warming it with FETCH 1:* ENVELOPE, minus after dropping
// it) and reports it beside the cache's own estimate.
func BenchmarkEnvelopeCacheHeap(b *testing.B) {
	conn, until := rawBenchSession(b)
	srv := benchOnce.srv
	var mb *mailbox
	srv.mu.Lock()
	for _, m := range srv.mailboxes {
		mb = m
	}
	srv.mu.Unlock()
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	var real, est int64
	for b.Loop() {
		b.StopTimer()
		mb.mu.Lock()
		mb.dropCache()
		mb.mu.Unlock()
		before := heap()
		b.StartTimer()
		fmt.Fprintf(conn, "f UID FETCH 1:* (FLAGS ENVELOPE)\r\n")
		until("f")
		b.StopTimer()
		after := heap()
		real, est = after-before, mb.cacheBytes.Load()
		b.StartTimer()
	}
	b.ReportMetric(float64(real)/float64(benchMessages), "heap-B/msg")
	b.ReportMetric(float64(est)/float64(benchMessages), "est-B/msg")
}

// BenchmarkAppend appends bench messages one at a time over one connection to a store
// on the temp dir's disk (not tmpfs: the fsyncs are part of an APPEND), as
// bench/imap/load's append test does.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	if _, _, err := d.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	srv := New(Options{Store: st, Directory: d, MaxMessageSize: 1 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		m := benchMessage(i)
		i++
		cmd := c.Append("INBOX", int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchHeadersRaw is the header fetch Thunderbird sends when it syncs a folder
// (the fields its message list shows), read without parsing, as BenchmarkFetchRaw.
func BenchmarkFetchHeadersRaw(b *testing.B) {
	conn, until := rawBenchSession(b)
	for b.Loop() {
		fmt.Fprintf(conn, "f UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n")
		until("f")
	}
}
