package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// ftsVocabulary is a synthetic vocabulary drawn with a Zipf law, so that some words
// are in nearly every message and most are rare, as in real mail.
func ftsVocabulary(n int) []string {
	words := make([]string, n)
	for i := range words {
		words[i] = fmt.Sprintf("w%dx", i)
	}
	words[0], words[1], words[2] = "meeting", "budget", "harbour"
	return words
}

// textMessage4K is a 4 KB message of Zipf-distributed words, distinct per n.
func textMessage4K(n int, words []string, zipf *rand.Zipf) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.net>\r\nTo: alice@example.org\r\n"+
		"Subject: %s %s report %d\r\nMessage-ID: <fts-%d@example.net>\r\n"+
		"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n",
		n%50, n%50, words[zipf.Uint64()], words[zipf.Uint64()], n, n)
	for col := 0; b.Len() < 4096; col++ {
		b.WriteString(words[zipf.Uint64()])
		if col%12 == 11 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// deliverAll delivers msgs from 16 concurrent senders (group commit, as SMTP would).
func deliverAll(b *testing.B, st *store.Store, p store.Principal, folder int64, msgs [][]byte) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := next.Add(1) - 1
				if j >= int64(len(msgs)) {
					return
				}
				if _, err := st.Deliver(context.Background(), p, folder, msgs[j], store.DeliverOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkFTSIndexPerItem times DeliverMulti of one 4 KB message to 100 recipients
// (one transaction, one fsync, 100 items and 100 index rows): per item, the cost is
// dominated by the item row and its full-text row. Compare with the same benchmark on
// a commit before the index to get the index's share.
func BenchmarkFTSIndexPerItem(b *testing.B) {
	st, p, inbox := openBench(b)
	words := ftsVocabulary(20_000)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(words)-1))
	rcpts := make([]store.Recipient, 100)
	for i := range rcpts {
		rcpts[i] = store.Recipient{Principal: p, FolderID: inbox}
	}
	msgs := make([][]byte, b.N)
	for i := range msgs {
		msgs[i] = textMessage4K(i, words, zipf)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := st.DeliverMulti(context.Background(), msgs[i], rcpts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*len(rcpts)), "µs/item")
}

// BenchmarkFTSSearch times SearchMail and MatchMailUIDs over 10,000 distinct 4 KB
// messages (first page of 50, total counted up to 10,000).
func BenchmarkFTSSearch(b *testing.B) {
	const total = 10_000
	st, p, inbox := openBench(b)
	words := ftsVocabulary(20_000)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(words)-1))
	msgs := make([][]byte, total)
	for i := range msgs {
		msgs[i] = textMessage4K(i, words, zipf)
	}
	start := time.Now()
	deliverAll(b, st, p, inbox, msgs)
	b.Logf("delivered and indexed %d messages in %v", total, time.Since(start))
	ctx := context.Background()
	// A restart's backlog scan over a fully indexed store.
	start = time.Now()
	if n, err := st.IndexBacklog(ctx, 500); err != nil || n != 0 {
		b.Fatalf("backlog: %d %v", n, err)
	}
	b.Logf("backlog scan of %d indexed items: %v", total, time.Since(start))
	for _, q := range []struct {
		name string
		q    store.MailQuery
	}{
		{"common word", store.MailQuery{Text: "meeting"}},
		{"rare word", store.MailQuery{Text: "w4321x"}},
		{"two words", store.MailQuery{Text: "budget harbour"}},
		{"3-letter prefix", store.MailQuery{Text: "w12"}},
		{"phrase", store.MailQuery{Text: `"meeting budget"`}},
		{"subject only", store.MailQuery{Text: "report 1234", Field: "subject"}},
		{"sender", store.MailQuery{Text: "sender7@example.net", Field: "addresses"}},
	} {
		b.Run(q.name, func(b *testing.B) {
			q.q.Limit = 50
			var n int
			for i := 0; i < b.N; i++ {
				_, t, err := st.SearchMail(ctx, p, q.q)
				if err != nil {
					b.Fatal(err)
				}
				n = t
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
	b.Run("MatchMailUIDs common word", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			uids, err := st.MatchMailUIDs(ctx, p, inbox, "meeting", "body")
			if err != nil {
				b.Fatal(err)
			}
			n = len(uids)
		}
		b.ReportMetric(float64(n), "matches")
	})
}
