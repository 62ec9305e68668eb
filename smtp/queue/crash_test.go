package queue_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/smtp/queue"
	"github.com/gatehouse/gatehouse/store"
)

// kill -9 during deliveries: afterwards every recipient is delivered or still queued;
// one is delivered twice only if the kill fell between the remote 250 and our commit,
// which at most Concurrency deliveries in flight can hit.
func TestCrashDuringDelivery(t *testing.T) {
	if dir := os.Getenv("GATEHOUSE_QUEUE_CRASH_DIR"); dir != "" {
		port, _ := strconv.Atoi(os.Getenv("GATEHOUSE_QUEUE_CRASH_PORT"))
		crashRunQueue(dir, port)
		return
	}
	if testing.Short() {
		t.Skip("crash test spawns a process")
	}
	const total, concurrency = 300, 4
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		raw := []byte(fmt.Sprintf("From: a@example.org\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i))
		if _, _, err := st.Accept(ctx, raw, nil, &store.Outbound{From: "a@example.org", Recipients: []string{fmt.Sprintf("r%d@remote.example", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	mx := startMX(t, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringDelivery$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_QUEUE_CRASH_DIR="+dir, "GATEHOUSE_QUEUE_CRASH_PORT="+strconv.Itoa(mx.port))
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	go io.Copy(io.Discard, bufio.NewReader(out))
	deadline := time.Now().Add(30 * time.Second)
	for len(mx.received()) < total/3 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	atKill := len(mx.received())
	if atKill == 0 || atKill >= total {
		t.Fatalf("killed after %d of %d deliveries: not mid-stream", atKill, total)
	}

	// Restart: the queue resumes and drains.
	st, err = store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	left, _ := st.QueueList(ctx)
	q := queue.New(queue.Options{Store: st, Logger: logger(t), Hostname: "mail.example.org", Resolver: loopbackDNS(),
		Port: mx.port, Concurrency: concurrency, DisableDKIM: true})
	qctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- q.Run(qctx) }()
	for time.Now().Before(deadline) {
		if l, _ := st.QueueList(ctx); len(l) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if l, _ := st.QueueList(ctx); len(l) != 0 {
		t.Fatalf("%d still queued after restart", len(l))
	}
	count := map[string]int{}
	for _, m := range mx.received() {
		for _, r := range m.to {
			count[r]++
		}
	}
	dups := 0
	for i := range total {
		r := fmt.Sprintf("r%d@remote.example", i)
		switch n := count[r]; {
		case n == 0:
			t.Errorf("%s never delivered", r)
		case n > 1:
			dups += n - 1
		}
	}
	if dups > concurrency {
		t.Errorf("%d duplicate deliveries, more than the %d that can be in flight", dups, concurrency)
	}
	t.Logf("%d delivered before the kill, %d queued at restart, %d duplicates", atKill, len(left), dups)
}

func crashRunQueue(dir string, port int) {
	st, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	lo := []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}
	dns := &fakeDNS{mx: map[string][]*net.MX{"remote.example": {{Host: "mx.remote.example.", Pref: 10}}},
		ip: map[string][]net.IPAddr{"mx.remote.example": lo}}
	q := queue.New(queue.Options{Store: st, Hostname: "mail.example.org", Resolver: dns, Port: port, Concurrency: 4, DisableDKIM: true})
	q.Run(context.Background())
}
