package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the real gatehouse command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	stdout, stderr string
	code           int
}

func runCmd(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// cliSetup is the start of a test that runs the built binary against a data directory
// in a temp dir: the binary, the temp dir, the data directory, and the --config/--data
// arguments of a loopback config.
func cliSetup(t *testing.T) (bin, dir, data string, common []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin = buildBinary(t)
	dir = t.TempDir()
	data = filepath.Join(dir, "data")
	return bin, dir, data, []string{"--config", loopbackConfig(t, dir), "--data", data}
}

// loopbackConfig writes a config with every listener on a free loopback port.
func loopbackConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "gatehouse.toml")
	cfg := `hostname = "mail.example.org"
shutdown_grace = "3s"
[listen]
http = "127.0.0.1:0"
https = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
ldap = "127.0.0.1:0"
ldaps = "127.0.0.1:0"
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeAndUserLifecycle covers the admin commands, first without a server (the command
// opens the store) and then against a running server (through its control socket).
func TestServeAndUserLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cfgFile := loopbackConfig(t, dir)
	data := filepath.Join(dir, "data")
	common := []string{"--config", cfgFile, "--data", data}

	// Offline: no server holds the data directory.
	r := runCmd(t, bin, "hunter2\n", append([]string{"user", "add", "bob@example.org", "--password-stdin"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "added user bob@example.org") {
		t.Fatalf("offline user add: %+v", r)
	}

	srv := exec.Command(bin, append([]string{"serve"}, common...)...)
	stdout, _ := srv.StdoutPipe()
	var serr syncBuffer
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	// bob exists, so no administrator is created: stdout stays silent about it.
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor(t, &serr, "gatehouse is running")

	r = runCmd(t, bin, "pw-carol\n", append([]string{"user", "add", "carol@example.org", "--name", "Carol C", "--password-stdin"}, common...)...)
	if r.code != 0 {
		t.Fatalf("online user add: %+v\nserver: %s", r, serr.String())
	}
	r = runCmd(t, bin, "again\n", append([]string{"user", "add", "carol@example.org", "--password-stdin"}, common...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate user add: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"user", "list"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "bob@example.org") || !regexp.MustCompile(`carol@example.org\s+Carol C`).MatchString(r.stdout) {
		t.Errorf("user list: %+v", r)
	}
	if !strings.Contains(serr.String(), `msg="admin command" op=user.add email=carol@example.org`) {
		t.Errorf("the running server did not carry out the online command:\n%s", serr.String())
	}
	r = runCmd(t, bin, "", append([]string{"user", "del", "carol@example.org"}, common...)...)
	if r.code != 0 {
		t.Errorf("user del: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"user", "list"}, common...)...)
	if strings.Contains(r.stdout, "carol@") {
		t.Errorf("carol still listed: %s", r.stdout)
	}

	start := time.Now()
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, serr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after SIGTERM")
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	for l := range lines {
		if strings.Contains(l, "Password") {
			t.Errorf("administrator created although users existed: %q", l)
		}
	}
}

// syncBuffer is a bytes.Buffer that a child process's output copier and the test may
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, buf *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server never logged %q:\n%s", text, buf.String())
}

// TestFirstStartPrintsAdminPasswordOnce: an empty store gets admin@<domain> and its
// password on standard output; a second start prints nothing of the kind. The server
// listens meanwhile.
func TestFirstStartPrintsAdminPasswordOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cfgFile := loopbackConfig(t, dir)
	data := filepath.Join(dir, "data")
	for round := 0; round < 2; round++ {
		srv := exec.Command(bin, "serve", "--config", cfgFile, "--data", data)
		var out, serr syncBuffer
		srv.Stdout, srv.Stderr = &out, &serr
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &serr, "gatehouse is running")
		m := regexp.MustCompile(`listener=http addr=(\S+)`).FindStringSubmatch(serr.String())
		if m == nil {
			t.Fatalf("no http listener logged:\n%s", serr.String())
		}
		resp, err := http.Get("http://" + m[1] + "/healthz")
		if err != nil {
			t.Fatalf("server not listening: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		srv.Process.Signal(syscall.SIGTERM)
		if err := srv.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		hasPw := strings.Contains(out.String(), "Password: ")
		if round == 0 && (!hasPw || !strings.Contains(out.String(), "admin@example.org")) {
			t.Errorf("first start stdout: %q", out.String())
		}
		if round == 1 && hasPw {
			t.Errorf("second start printed a password again: %q", out.String())
		}
		if round == 0 {
			pw := regexp.MustCompile(`Password: (\S+)`).FindStringSubmatch(out.String())[1]
			// The printed password is the real one: set it again via passwd to prove the account exists.
			r := runCmd(t, bin, pw+"\n", "user", "passwd", "admin@example.org", "--password-stdin", "--config", cfgFile, "--data", data)
			if r.code != 0 {
				t.Errorf("passwd for the administrator: %+v", r)
			}
		}
	}
}

// TestConfigErrorsExitTwo: a bad or unknown key names itself, exits 2, starts nothing.
func TestConfigErrorsExitTwo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown":  "[listen]\nimapz = \":1143\"\n",
		"badvalue": "[listen]\nimap = \"not-an-address\"\n",
		"syntax":   "[listen\nimap = 1\n",
	} {
		path := filepath.Join(dir, name+".toml")
		os.WriteFile(path, []byte(body), 0o644)
		data := filepath.Join(dir, "data-"+name)
		r := runCmd(t, bin, "", "serve", "--config", path, "--data", data)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, r.code, r.stderr)
		}
		want := map[string]string{"unknown": "listen.imapz", "badvalue": "listen.imap", "syntax": "line"}[name]
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: error does not name %q: %s", name, want, r.stderr)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%s: data directory created although the config was bad", name)
		}
		// Admin commands refuse the same way.
		r = runCmd(t, bin, "", "user", "list", "--config", path, "--data", data)
		if r.code != 2 {
			t.Errorf("%s: user list exit %d", name, r.code)
		}
	}
	r := runCmd(t, bin, "", "frobnicate")
	if r.code != 2 {
		t.Errorf("unknown command exit %d", r.code)
	}
	r = runCmd(t, bin, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse ") {
		t.Errorf("version: %+v", r)
	}
}

// TestDomainDKIMAndQueueCommands: adding a domain prints the DKIM record to publish (and
// `domain dkim` prints the same again); the queue commands answer on an empty queue.
func TestDomainDKIMAndQueueCommands(t *testing.T) {
	bin, _, _, common := cliSetup(t)
	r := runCmd(t, bin, "", append([]string{"domain", "add", "example.net"}, common...)...)
	rec := regexp.MustCompile(`(gh\d{6}\._domainkey\.example\.net\.) IN TXT "v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]{300,})"`).FindStringSubmatch(r.stdout)
	if r.code != 0 || rec == nil {
		t.Fatalf("domain add: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"domain", "dkim", "example.net"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, rec[1]) || !strings.Contains(r.stdout, rec[2]) {
		t.Errorf("domain dkim does not repeat the record: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"domain", "dkim", "nothere.example"}, common...)...)
	if r.code != 1 {
		t.Errorf("domain dkim of an unknown domain: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"queue", "list"}, common...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ID") {
		t.Errorf("queue list: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"queue", "delete", "12345"}, common...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no queued message 12345") {
		t.Errorf("queue delete of a missing id: %+v", r)
	}
	r = runCmd(t, bin, "", append([]string{"queue", "delete", "abc"}, common...)...)
	if r.code != 2 {
		t.Errorf("queue delete abc: %+v", r)
	}
}

// startServer runs `gatehouse serve` with args until it says it is running, and
// returns its log and a function that stops it with SIGTERM (failing the test if it is
// still running 10 s later). The process is killed when the test ends in any case.
func startServer(t *testing.T, bin string, args []string) (*syncBuffer, func()) {
	t.Helper()
	srv := exec.Command(bin, append([]string{"serve"}, args...)...)
	serr := &syncBuffer{}
	srv.Stderr = serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill() })
	waitFor(t, serr, "gatehouse is running")
	return serr, func() {
		t.Helper()
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve still running 10s after SIGTERM")
		}
	}
}
