package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"

	_ "modernc.org/sqlite"
)

// sqliteBackend keeps every blob in a file, as messages over the inline limit are; the
// crash-safety tests plant and check those files.
func sqliteBackend() storetest.Backend {
	return storetest.Backend{
		Open: func(t testing.TB, dir string, now func() time.Time) *store.Store {
			t.Helper()
			st, err := store.Open(context.Background(), store.Options{Dir: dir, Now: now, BlobGrace: 72 * time.Hour, InlineBlobMax: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		BlobPath: func(dir, hash string) string { return filepath.Join(dir, "blobs", hash[:2], hash) },
	}
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, sqliteBackend())
}

// TestConformanceSQLiteInline runs the suite with the default inline limit, under which
// every test message is kept in its blob row (blob_inline_test.go covers collection).
func TestConformanceSQLiteInline(t *testing.T) {
	b := sqliteBackend()
	b.Open = func(t testing.TB, dir string, now func() time.Time) *store.Store {
		t.Helper()
		st, err := store.Open(context.Background(), store.Options{Dir: dir, Now: now, BlobGrace: 72 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	b.BlobPath = nil
	storetest.Run(t, b)
}

func TestLockRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !store.DirLocked(dir) {
		t.Error("DirLocked false while the store is open")
	}
	if _, err := store.Open(context.Background(), store.Options{Dir: dir}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	st.Close()
	if store.DirLocked(dir) {
		t.Error("DirLocked true after Close")
	}
	st2, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	st2.Close()
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", store.SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := store.Open(context.Background(), store.Options{Dir: dir}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open of a newer database: %v, want ErrSchemaTooNew", err)
	}
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := st.AddDomain(context.Background(), "example.org"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// TestCrashKeepsCommittedBlobs kills a delivering process with SIGKILL mid-stream and
// checks after restart that every committed item still has its blob, and that every
// delivery the child reported as done is there (§2 invariant 6).
func TestCrashKeepsCommittedBlobs(t *testing.T) {
	if os.Getenv("GATEHOUSE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("crash test spawns a process")
	}
	dir := t.TempDir()
	ackFile := filepath.Join(dir, "acked")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsCommittedBlobs$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_CRASH_CHILD=1", "GATEHOUSE_CRASH_DIR="+dir, "GATEHOUSE_CRASH_ACK="+ackFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it deliver for a while, then kill it without warning.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(ackFile)
		if strings.Count(string(b), "\n") >= 150 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	acked, _ := os.ReadFile(ackFile)
	st, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a, err := st.AccountByEmail(ctx, "crash@example.org")
	if err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: a.ID}
	inbox, _ := st.FolderByRole(ctx, p, store.RoleInbox)
	items, err := st.ListItems(ctx, p, inbox.ID, store.UIDRange{First: 1})
	if err != nil {
		t.Fatal(err)
	}
	have := map[uint32]bool{}
	for _, it := range items {
		have[it.UID] = true
		f, err := st.OpenBlob(ctx, p, it.ID)
		if err != nil {
			t.Fatalf("committed item uid %d has no blob: %v", it.UID, err)
		}
		f.Close()
	}
	lines := strings.Fields(string(acked))
	if len(lines) == 0 {
		t.Fatal("child acknowledged no delivery")
	}
	for _, l := range lines {
		uid, _ := strconv.ParseUint(l, 10, 32)
		if !have[uint32(uid)] {
			t.Errorf("acknowledged delivery uid %d lost in the crash", uid)
		}
	}
	t.Logf("%d acknowledged, %d committed", len(lines), len(items))
	st2, _ := st.Account(ctx, a.ID)
	if st2.UsageItems != int64(len(items)) {
		t.Errorf("usage counter %d, items %d", st2.UsageItems, len(items))
	}
}

func crashChild() {
	dir := os.Getenv("GATEHOUSE_CRASH_DIR")
	ack, err := os.OpenFile(os.Getenv("GATEHOUSE_CRASH_ACK"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		os.Exit(3)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		os.Exit(4)
	}
	st.AddDomain(ctx, "example.org")
	a, err := st.CreateAccount(ctx, store.NewAccount{Email: "crash@example.org"})
	if err != nil {
		os.Exit(5)
	}
	p := store.Principal{AccountID: a.ID}
	for w := 0; w < 4; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				d, err := st.Deliver(ctx, p, 0, storetest.Msg(w*1_000_000+i), store.DeliverOptions{})
				if err != nil {
					os.Exit(6)
				}
				// Written only after Deliver returned: the store said "saved".
				fmt.Fprintf(ack, "%d\n", d.UID)
			}
		}(w)
	}
	select {}
}

// A data directory whose path has characters that mean something in a URI ('#', '?',
// '%') keeps its database inside it, and two such directories are two stores.
func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	var stores []*store.Store
	for _, name := range []string{"a#1?x=%41", "a#2?x=%41"} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, store.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
			t.Errorf("database not inside %q: %v", name, err)
		}
		if _, err := st.AddDomain(ctx, "example.org"); err != nil {
			t.Errorf("%q: %v (another store's database?)", name, err)
		}
		stores = append(stores, st)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files beside the data directories: %v", names)
	}
}
