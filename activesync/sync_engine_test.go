package activesync

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// TestSyncLargeInboxFill measures the initial sync of a 10,000-message Inbox in windows
// of 100 (target: at most 10 s of server time in total; each window costs what it
// sends). It is slow to set up, so it runs only with GATEHOUSE_SLOW_TESTS=1.
func TestSyncLargeInboxFill(t *testing.T) {
	if os.Getenv("GATEHOUSE_SLOW_TESTS") == "" {
		t.Skip("set GATEHOUSE_SLOW_TESTS=1")
	}
	e := newSyncEnv(t)
	inbox := e.folderByRole(store.RoleInbox)
	const n = 10000
	base := time.Now().Add(-n * time.Minute)
	done := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := w; i < n; i += 8 {
				_, err := e.st.Deliver(context.Background(), e.principal(), inbox.ID, []byte(syncTestMessage(i, "big")),
					store.DeliverOptions{InternalDate: base.Add(time.Duration(i) * time.Minute)})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	opts := `<Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>5120</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options>`
	key := e.sync(inbox.ID, "0", opts).key
	total, windows := 0, 0
	var slowest time.Duration
	for {
		ws := time.Now()
		r := e.sync(inbox.ID, key, `<WindowSize>100</WindowSize>`)
		slowest = max(slowest, time.Since(ws))
		total += len(r.adds)
		windows++
		key = r.key
		if !r.more {
			break
		}
	}
	el := time.Since(start)
	t.Logf("%d items in %d windows, %v (slowest window %v)", total, windows, el, slowest)
	if total != n {
		t.Errorf("%d items sent, want %d", total, n)
	}
	if el > 10*time.Second {
		t.Errorf("initial sync took %v, target 10 s", el)
	}
}

func TestFilterWindow(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	for ft, want := range map[int]time.Time{
		0: {}, 1: now.AddDate(0, 0, -1), 2: now.AddDate(0, 0, -3), 3: now.AddDate(0, 0, -7),
		4: now.AddDate(0, 0, -14), 5: now.AddDate(0, 0, -30), 6: {}, -1: {},
	} {
		if got := filterWindow(ft, now); !got.Equal(want) {
			t.Errorf("filterWindow(%d) = %v, want %v", ft, got, want)
		}
	}
}

func TestSyncKeyFormat(t *testing.T) {
	k := formatSyncKey(3, 17)
	if k != "3:17" {
		t.Fatalf("formatSyncKey = %q", k)
	}
	if e, g, ok := parseSyncKey(k); !ok || e != 3 || g != 17 {
		t.Errorf("parseSyncKey(%q) = %d, %d, %v", k, e, g, ok)
	}
	for _, bad := range []string{"0", "", "17", "3:", ":17", "3:0", "-1:4", "3:x", "{3:17}"} {
		if _, _, ok := parseSyncKey(bad); ok {
			t.Errorf("parseSyncKey(%q) accepted", bad)
		}
	}
}
