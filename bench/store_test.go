package bench

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// message4K is a plausible 4 KB message, made distinct by n so every blob is new.
func message4K(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Bench Sender <sender@example.net>\r\nTo: alice@example.org\r\n"+
		"Subject: Benchmark message %d\r\nMessage-ID: <bench-%d@example.net>\r\n"+
		"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n", n, n)
	line := "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
	for b.Len() < 4096-len(line) {
		b.WriteString(line)
	}
	return b.Bytes()
}

func openBench(b *testing.B) (*store.Store, store.Principal, int64) {
	b.Helper()
	st, err := store.Open(context.Background(), store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		b.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, store.NewAccount{Email: "alice@example.org"})
	if err != nil {
		b.Fatal(err)
	}
	p := store.Principal{AccountID: a.ID}
	inbox, err := st.FolderByRole(ctx, p, store.RoleInbox)
	if err != nil {
		b.Fatal(err)
	}
	return st, p, inbox.ID
}

// BenchmarkDurableDelivery delivers 10,000 distinct 4 KB messages into one folder from
// concurrent senders (as SMTP sessions would), each Deliver returning only once its
// commit and blob are on disk. Reports messages per second.
func BenchmarkDurableDelivery(b *testing.B) {
	for _, senders := range []int{1, 16} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			const total = 10_000
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, p, inbox := openBench(b)
				msgs := make([][]byte, total)
				for j := range msgs {
					msgs[j] = message4K(i*total + j)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.StartTimer()
				start := time.Now()
				for s := 0; s < senders; s++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							j := next.Add(1) - 1
							if j >= total {
								return
							}
							if _, err := st.Deliver(context.Background(), p, inbox, msgs[j], store.DeliverOptions{}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
				st.Close()
			}
		})
	}
}

// populate puts n items into the folder quickly: DeliverMulti with the same folder as
// every recipient stores one blob and a thousand items per transaction.
func populate(b *testing.B, st *store.Store, p store.Principal, folder int64, n int) {
	b.Helper()
	const chunk = 1000
	raw := message4K(0)
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		rcpts := make([]store.Recipient, k)
		for i := range rcpts {
			rcpts[i] = store.Recipient{Principal: p, FolderID: folder}
		}
		if _, err := st.DeliverMulti(context.Background(), raw, rcpts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDelta10Changes times the delta since modseq N when 10 items changed, in
// folders of 1,000 / 100,000 / 1,000,000 items: the cost must follow the changes, not
// the folder (DESIGN.md §2 invariant 2).
func BenchmarkDelta10Changes(b *testing.B) {
	for _, size := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("items=%d", size), func(b *testing.B) {
			st, p, inbox := openBench(b)
			populate(b, st, p, inbox, size)
			ctx := context.Background()
			status, err := st.FolderStatus(ctx, p, inbox)
			if err != nil {
				b.Fatal(err)
			}
			mark := status.HighestModseq
			// Ten changes spread over the folder: 7 flag changes, 2 expunges, 1 delivery.
			step := uint32(size / 10)
			for i := uint32(0); i < 7; i++ {
				sel := store.Selector{FolderID: inbox, UIDs: []store.UIDRange{{First: 1 + i*step, Last: 1 + i*step}}}
				if _, err := st.SetFlags(ctx, p, sel, store.FlagsAdd, store.FlagSeen, nil); err != nil {
					b.Fatal(err)
				}
			}
			for i := uint32(7); i < 9; i++ {
				sel := store.Selector{FolderID: inbox, UIDs: []store.UIDRange{{First: 1 + i*step, Last: 1 + i*step}}}
				if _, err := st.Delete(ctx, p, sel); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := st.Deliver(ctx, p, inbox, message4K(-1), store.DeliverOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := st.Delta(ctx, p, inbox, mark)
				if err != nil {
					b.Fatal(err)
				}
				if len(d.Items)+len(d.Tombstones) != 10 {
					b.Fatalf("delta has %d items and %d tombstones, want 10 changes", len(d.Items), len(d.Tombstones))
				}
			}
		})
	}
}
