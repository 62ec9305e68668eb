package imap

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPythonImaplib drives the server with Python's imaplib (testdata/imaplib_client.py).
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/imaplib_client.py", host, port, "alice@example.org", testPassword).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}
