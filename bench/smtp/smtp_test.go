// Package smtpbench holds the SMTP benchmarks: run.sh (Gatehouse against Postfix, end to
// end with the real binaries) and, here, the same loads against a whole Gatehouse in
// process, so that they can be profiled:
//
//	go test ./bench/smtp -run XXX -bench Inbound -benchtime 1x -cpuprofile cpu.out
//	go test ./bench/smtp -run XXX -bench Outbound -benchtime 1x -cpuprofile cpu.out -memprofile mem.out
//
// Both need Postfix's smtp-source and smtp-sink (Debian package postfix; the service is
// not used) and are skipped without them. Each iteration starts a fresh server (data
// in b.TempDir(), every listener on 127.0.0.1:0, logging at info level to nowhere, as
// `gatehouse serve` logs to a file) and loads it with 5,000 messages of 4 KB.
//
// DNS: the inbound SPF and DMARC lookups use the system resolver; run it inside run.sh's
// kind of private resolv.conf, or expect a slow resolver to dominate the inbound figure.
package smtpbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testutil"
)

const (
	total    = 5000
	sessions = 20
	size     = 4096
	password = "bench-password-0123"
)

// postfixTool finds smtp-source or smtp-sink, or skips the benchmark.
func postfixTool(b *testing.B, name string) string {
	b.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/lib/postfix/sbin"} {
		p := dir + "/" + name
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	b.Skipf("%s not found (apt-get install postfix)", name)
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startApp starts a whole Gatehouse with bench@example.org, logging at info level to
// io.Discard (so log formatting is in the profile, writing is not).
func startApp(b *testing.B, edit func(*config.Config)) *app.App {
	b.Helper()
	cfg := testutil.LoopbackConfig(b.TempDir())
	cfg.Hostname = "mx.example.org"
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(); err != nil {
		a.Shutdown(context.Background())
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Shutdown(context.Background()) })
	resp := a.Admin.Do(context.Background(), admin.Request{Op: "user.add", Email: "bench@example.org", Password: password})
	if resp.Exit != admin.ExitOK {
		b.Fatalf("user add: %s", resp.Error)
	}
	return a
}

// inboxCount is bench@example.org's message count as `gatehouse user list` shows it.
func inboxCount(b *testing.B, a *app.App) int {
	b.Helper()
	resp := a.Admin.Do(context.Background(), admin.Request{Op: "user.list"})
	for _, line := range strings.Split(resp.Output, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "bench@example.org" {
			n, _ := strconv.Atoi(f[len(f)-2])
			return n
		}
	}
	b.Fatalf("bench@example.org not in user list:\n%s", resp.Output)
	return 0
}

// BenchmarkInbound is run.sh's inbound load: smtp-source -s 20 -m 5000 -l 4096 against
// the MX listener, timed until the store holds every message.
func BenchmarkInbound(b *testing.B) {
	source := postfixTool(b, "smtp-source")
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		a := startApp(b, nil)
		start := time.Now()
		b.StartTimer()
		out, err := exec.Command(source, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(total),
			"-l", strconv.Itoa(size), "-f", "sender@example.net", "-t", "bench@example.org", a.Addr("smtp")).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source: %v\n%s", err, out)
		}
		for inboxCount(b, a) < total {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("store holds %d of %d messages after 10 minutes", inboxCount(b, a), total)
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
	}
}

// message is one distinct submitted message of about size bytes.
func message(i int) []byte {
	var m bytes.Buffer
	fmt.Fprintf(&m, "From: Bench <bench@example.org>\r\nTo: <rcpt@sink.test>\r\n"+
		"Subject: outbound benchmark message %d\r\nMessage-ID: <bench-%d@example.org>\r\n"+
		"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n", i, i)
	line := fmt.Sprintf("message %06d la de da de da de da de da de da de da de da de da de da\r\n", i)
	for m.Len() < size {
		m.WriteString(line)
	}
	return m.Bytes()
}

// sinkCounter reads smtp-sink -c's running counters ("sess=N quit=N mesg=N\r").
type sinkCounter struct {
	mu   sync.Mutex
	buf  []byte
	mesg atomic.Int64
}

func (s *sinkCounter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexAny(s.buf, "\r\n")
		if i < 0 {
			return len(p), nil
		}
		rec := string(s.buf[:i])
		s.buf = s.buf[i+1:]
		if j := strings.LastIndex(rec, "mesg="); j >= 0 {
			if n, err := strconv.ParseInt(rec[j+len("mesg="):], 10, 64); err == nil {
				s.mesg.Store(n)
			}
		}
	}
}

// BenchmarkOutbound is run.sh's outbound load: 5,000 messages submitted with AUTH over 20
// sessions to rcpt@sink.test, relayed by the queue ([queue] smarthost) to smtp-sink;
// timed from the first 250 at submission to the last message received by smtp-sink.
// For memory use -memprofile here, or run.sh for the peak RSS of the real binary.
func BenchmarkOutbound(b *testing.B) {
	sinkBin := postfixTool(b, "smtp-sink")
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		port := freePort(b)
		args := []string{"-c", fmt.Sprintf("127.0.0.1:%d", port), "1000"}
		if os.Geteuid() == 0 {
			args = append([]string{"-u", "nobody"}, args...) // smtp-sink refuses to run as root
		}
		sink := exec.Command(sinkBin, args...)
		counter := &sinkCounter{}
		sink.Stdout = counter
		sink.Stderr = os.Stderr
		if err := sink.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sink.Process.Kill(); sink.Wait() })
		for j := 0; ; j++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
				break
			}
			if j > 100 {
				b.Fatalf("smtp-sink not listening: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		base := counter.mesg.Load()
		a := startApp(b, func(cfg *config.Config) { cfg.Queue.Smarthost = fmt.Sprintf("127.0.0.1:%d", port) })
		sub := a.Addr("submission")

		b.StartTimer()
		var next atomic.Int64
		var first atomic.Int64 // UnixNano of the first 250
		errs := make(chan error, sessions)
		var wg sync.WaitGroup
		for s := 0; s < sessions; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := gosmtp.Dial(sub)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if err := c.Hello("client.example.org"); err != nil {
					errs <- err
					return
				}
				if err := c.Auth(sasl.NewPlainClient("", "bench@example.org", password)); err != nil {
					errs <- err
					return
				}
				for {
					n := next.Add(1) - 1
					if n >= total {
						c.Quit()
						return
					}
					if err := c.SendMail("bench@example.org", []string{"rcpt@sink.test"}, bytes.NewReader(message(int(n)))); err != nil {
						errs <- err
						return
					}
					first.CompareAndSwap(0, time.Now().UnixNano())
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("submission: %v", err)
		}
		submitted := time.Now()
		for counter.mesg.Load()-base < total {
			if time.Since(submitted) > 10*time.Minute {
				b.Fatalf("smtp-sink got %d of %d messages", counter.mesg.Load()-base, total)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(float64(total)/time.Since(time.Unix(0, first.Load())).Seconds(), "msgs/s")
	}
}
