// Command activesync measures Gatehouse's ActiveSync front end against the targets of
// its issue, on one machine, over loopback, with the server as a separate process (so
// that its memory is its own):
//
//  1. push latency: a device parks a Ping on its Inbox; a message is submitted over SMTP;
//     the time from SMTP's 250 (which follows the store commit) to the Ping's answer,
//     p50/p99 over -deliveries messages (and, as an upper bound, from the start of the
//     SMTP transaction);
//
//  2. initial sync: -messages messages delivered to one Inbox, then a new device syncs
//     it with WindowSize 100: total time and requests;
//
//  3. parked Pings: -pings devices each park a Ping (one HTTP connection each); the
//     server's resident memory before and after, and the p99 of other ActiveSync
//     requests made meanwhile; then one delivery wakes them all.
//
//     go run ./bench/activesync [-deliveries 1000] [-messages 10000] [-pings 10000]
//
// It builds cmd/gatehouse from this checkout, runs it on free 127.0.0.1 ports in a temp
// dir (plain HTTP: the TLS of a reverse proxy is not measured), stops it by its PID at
// exit, and prints a Markdown report for docs/benchmarks.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
)

var (
	deliveries = flag.Int("deliveries", 1000, "messages for the push latency")
	messages   = flag.Int("messages", 10000, "Inbox size for the initial sync")
	pings      = flag.Int("pings", 10000, "Pings parked at once")
	par        = flag.Int("par", 32, "concurrent requests while setting devices up")
	keep       = flag.Bool("keep", false, "keep the temp dir")
	settle     = flag.Duration("settle", 150*time.Second, "how long the Pings stay parked before the steady-state reading")
	profile    = flag.String("profile", "", "save the server's heap and goroutine profiles with the Pings parked to FILE.heap and FILE.goroutine")
)

const password = "bench-password"

func main() {
	flag.Parse()
	log.SetFlags(0)
	srv := startServer()
	defer srv.stop()

	fmt.Printf("## ActiveSync (%s, %d CPUs, %s)\n\n", time.Now().Format("2006-01-02"), runtime.NumCPU(), cpuModel())
	for _, u := range []string{"push", "fill", "ping"} {
		srv.cli("user", "add", u+"@bench.test", "--password-stdin")
	}
	if *deliveries > 0 {
		pushLatency(srv)
	}
	if *messages > 0 {
		initialSync(srv)
	}
	if *pings > 0 {
		parkedPings(srv)
	}
}

// server is the gatehouse process under test.
type server struct {
	dir, bin, cfg     string
	cmd               *exec.Cmd
	http, smtp, debug string
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer() *server {
	dir, err := os.MkdirTemp("", "gatehouse-eas-bench.")
	if err != nil {
		log.Fatal(err)
	}
	s := &server{dir: dir, bin: filepath.Join(dir, "gatehouse"), cfg: filepath.Join(dir, "gatehouse.toml"), http: freePort(), smtp: freePort(), debug: freePort()}
	build := exec.Command("go", "build", "-o", s.bin, "./cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("build (run from the checkout's root): %v", err)
	}
	cfg := fmt.Sprintf(`data_dir = %q
hostname = "mail.bench.test"
[listen]
http = %q
https = ""
imap = ""
imaps = ""
smtp = %q
submission = ""
submissions = ""
ldap = ""
ldaps = ""
debug = %q
[log]
level = "warn"
`, filepath.Join(dir, "data"), s.http, s.smtp, s.debug)
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		log.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, "serve", "--config", s.cfg)
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; ; i++ {
		if r, err := http.Get("http://" + s.http + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if i > 300 {
			s.stop()
			log.Fatal("server did not start; see server.log")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	if !*keep {
		os.RemoveAll(s.dir)
	} else {
		log.Printf("kept %s", s.dir)
	}
}

func (s *server) cli(args ...string) {
	c := exec.Command(s.bin, append(args, "--config", s.cfg)...)
	c.Stdin = strings.NewReader(password + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		log.Fatalf("gatehouse %v: %v\n%s", args, err, out)
	}
}

// rss reads the server's resident memory (VmRSS) and peak (VmHWM) in bytes.
func (s *server) rss() (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "VmRSS:" {
				cur = n << 10
			} else {
				peak = n << 10
			}
		}
	}
	return
}

// saveProfile fetches a pprof profile from the server's debug listener.
func (s *server) saveProfile(name, file string) {
	r, err := http.Get("http://" + s.debug + "/debug/pprof/" + name)
	if err != nil {
		log.Printf("profile %s: %v", name, err)
		return
	}
	defer r.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	io.Copy(f, r.Body)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, v, _ := strings.Cut(l, ":")
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// device is one simulated phone.
type device struct {
	srv       *server
	user, id  string
	policyKey string
	client    *http.Client
	inbox     string
	key       string
}

var transport = &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}

func newDevice(s *server, user, id string) *device {
	return &device{srv: s, user: user, id: id, client: &http.Client{Transport: transport, Timeout: 30 * time.Minute}}
}

func (d *device) post(ctx context.Context, cmd, xml string) (*wbxml.Node, error) {
	var body io.Reader
	if xml != "" {
		n, err := wbxml.ParseXML([]byte(xml))
		if err != nil {
			return nil, err
		}
		b, err := wbxml.Encode(n)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.srv.http+"/Microsoft-Server-ActiveSync?Cmd="+cmd+
		"&User="+d.user+"&DeviceId="+d.id+"&DeviceType=BenchPhone", body)
	req.SetBasicAuth(d.user, password)
	req.Header.Set("MS-ASProtocolVersion", "16.1")
	req.Header.Set("Content-Type", wbxml.ContentType)
	if d.policyKey != "" {
		req.Header.Set("X-MS-PolicyKey", d.policyKey)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: HTTP %d", cmd, resp.StatusCode)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return wbxml.Decode(raw)
}

// setup provisions the device, synchronises its folders and primes its Inbox.
func (d *device) setup(ctx context.Context) error {
	prov := `<Provision xmlns="Provision"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>%s</Policy></Policies></Provision>`
	n, err := d.post(ctx, "Provision", fmt.Sprintf(prov, ""))
	if err != nil {
		return err
	}
	d.policyKey = n.Path("Policies", "Policy").ChildText("PolicyKey")
	n, err = d.post(ctx, "Provision", fmt.Sprintf(prov, "<PolicyKey>"+d.policyKey+"</PolicyKey><Status>1</Status>"))
	if err != nil {
		return err
	}
	d.policyKey = n.Path("Policies", "Policy").ChildText("PolicyKey")
	n, err = d.post(ctx, "FolderSync", `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`)
	if err != nil {
		return err
	}
	for _, a := range n.Path("Changes").All("Add") {
		if a.ChildText("Type") == "2" {
			d.inbox = a.ChildText("ServerId")
		}
	}
	if d.inbox == "" {
		return fmt.Errorf("no Inbox in FolderSync")
	}
	d.key = "0"
	_, _, err = d.sync(ctx, 100)
	return err
}

// sync runs one Sync of the Inbox and returns how many items it brought and whether more
// are available.
func (d *device) sync(ctx context.Context, window int) (int, bool, error) {
	n, err := d.post(ctx, "Sync", `<Sync xmlns="AirSync" xmlns:airsyncbase="AirSyncBase"><Collections><Collection><SyncKey>`+d.key+
		`</SyncKey><CollectionId>`+d.inbox+`</CollectionId><GetChanges/><WindowSize>`+strconv.Itoa(window)+
		`</WindowSize><Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>5120</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options></Collection></Collections></Sync>`)
	if err != nil {
		return 0, false, err
	}
	if n == nil {
		return 0, false, nil
	}
	c := n.Path("Collections", "Collection")
	if st := c.ChildText("Status"); st != "1" {
		return 0, false, fmt.Errorf("Sync Status %s (device %s, key %s)\n%s", st, d.id, d.key, n.XML())
	}
	d.key = c.ChildText("SyncKey")
	items := 0
	if cmds := c.Child("Commands"); cmds != nil {
		items = len(cmds.Children)
	}
	return items, c.Has("MoreAvailable"), nil
}

func (d *device) ping(ctx context.Context, heartbeat int) (string, error) {
	n, err := d.post(ctx, "Ping", `<Ping xmlns="Ping"><HeartbeatInterval>`+strconv.Itoa(heartbeat)+`</HeartbeatInterval><Folders><Folder><Id>`+
		d.inbox+`</Id><Class>Email</Class></Folder></Folders></Ping>`)
	if err != nil {
		return "", err
	}
	return n.ChildText("Status"), nil
}

func message(i int, to string) string {
	return fmt.Sprintf("From: Sender <sender@example.net>\r\nTo: %s\r\nSubject: benchmark message %d\r\nMessage-ID: <b%d.%d@example.net>\r\n"+
		"Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		to, i, i, time.Now().UnixNano(), time.Now().Add(-time.Duration(i)*time.Minute).Format(time.RFC1123Z), strings.Repeat("Body text of a benchmark message, one line of it.\r\n", 20+i%40))
}

func smtpSend(c *gosmtp.Client, to, msg string) error {
	if err := c.Mail("sender@example.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	io.WriteString(w, msg)
	return w.Close()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func pushLatency(s *server) {
	ctx := context.Background()
	d := newDevice(s, "push@bench.test", "PUSH1")
	if err := d.setup(ctx); err != nil {
		log.Fatalf("push device: %v", err)
	}
	c, err := gosmtp.Dial(s.smtp)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var fromAck, fromStart []time.Duration
	for i := 0; i < *deliveries; i++ {
		got := make(chan time.Time, 1)
		go func() {
			st, err := d.ping(ctx, 600)
			if err != nil || st != "2" {
				log.Fatalf("Ping %d: %q %v", i, st, err)
			}
			got <- time.Now()
		}()
		time.Sleep(15 * time.Millisecond) // let the Ping park
		start := time.Now()
		if err := smtpSend(c, "push@bench.test", message(i, "push@bench.test")); err != nil {
			log.Fatal(err)
		}
		acked := time.Now()
		answered := <-got
		fromAck = append(fromAck, answered.Sub(acked))
		fromStart = append(fromStart, answered.Sub(start))
		if _, _, err := d.sync(ctx, 100); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("### Push latency (%d deliveries, one parked Ping each)\n\n", len(fromAck))
	fmt.Println("| measured from | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| SMTP 250 (after the store commit) to Ping answer | %s | %s | %s |\n", ms(percentile(fromAck, .5)), ms(percentile(fromAck, .99)), ms(percentile(fromAck, 1)))
	fmt.Printf("| SMTP MAIL FROM to Ping answer (includes the durable commit) | %s | %s | %s |\n\n", ms(percentile(fromStart, .5)), ms(percentile(fromStart, .99)), ms(percentile(fromStart, 1)))
}

func initialSync(s *server) {
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gosmtp.Dial(s.smtp)
			if err != nil {
				log.Fatal(err)
			}
			defer c.Close()
			for {
				i := int(next.Add(1))
				if i > *messages {
					return
				}
				if err := smtpSend(c, "fill@bench.test", message(i, "fill@bench.test")); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	wg.Wait()
	filled := time.Since(start)
	d := newDevice(s, "fill@bench.test", "FILL1")
	t0 := time.Now()
	if err := d.setup(ctx); err != nil {
		log.Fatal(err)
	}
	total, reqs := 0, 0
	var windows []time.Duration
	for {
		w0 := time.Now()
		n, more, err := d.sync(ctx, 100)
		if err != nil {
			log.Fatal(err)
		}
		windows = append(windows, time.Since(w0))
		total += n
		reqs++
		if !more {
			break
		}
	}
	elapsed := time.Since(t0)
	fmt.Printf("### Initial sync of a %d-message Inbox (WindowSize 100, HTML body truncated at 5 KB)\n\n", *messages)
	fmt.Printf("Filled over SMTP (8 connections) in %s. Sync from Provision to the last window: **%.2f s**, %d items in %d Sync requests; "+
		"per window p50 %s, p99 %s. Target ≤ 10 s.\n\n", filled.Round(time.Millisecond), elapsed.Seconds(), total, reqs,
		ms(percentile(windows, .5)), ms(percentile(windows, .99)))
	if total != *messages {
		log.Printf("WARNING: synced %d items, delivered %d", total, *messages)
	}
}

func parkedPings(s *server) {
	ctx := context.Background()
	devs := make([]*device, *pings)
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(devs) {
					return
				}
				d := newDevice(s, "ping@bench.test", fmt.Sprintf("PING%05d", i))
				d.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 30 * time.Minute}
				if err := d.setup(ctx); err != nil {
					log.Fatalf("device %d: %v", i, err)
				}
				devs[i] = d
			}
		}()
	}
	wg.Wait()
	setup := time.Since(t0)
	// The server hands freed memory back once a minute: read its RSS after that.
	time.Sleep(65 * time.Second)
	before, _ := s.rss()
	var answered atomic.Int64
	results := make(chan string, len(devs))
	for _, d := range devs {
		go func() {
			st, err := d.ping(ctx, 1800)
			if err != nil {
				st = "error: " + err.Error()
			}
			answered.Add(1)
			results <- st
		}()
	}
	time.Sleep(10 * time.Second) // let them all park
	parked10, _ := s.rss()
	// Steady state: the runtime returns the memory freed by the arrival burst after its
	// next collection (forced every two minutes when nothing allocates).
	time.Sleep(*settle - 10*time.Second)
	parked, _ := s.rss()
	if *profile != "" {
		s.saveProfile("heap?debug=1", *profile+".memstats-settled")
		s.saveProfile("goroutine", *profile+".goroutine-settled")
	}
	if *profile != "" {
		s.saveProfile("heap?gc=1", *profile+".heap")
		s.saveProfile("goroutine", *profile+".goroutine")
		s.saveProfile("heap?debug=1", *profile+".memstats")
	}
	// Other requests while they are parked.
	other := newDevice(s, "push@bench.test", "OTHER1")
	if err := other.setup(ctx); err != nil {
		log.Fatal(err)
	}
	var lat []time.Duration
	for i := 0; i < 200; i++ {
		r0 := time.Now()
		if _, err := other.post(ctx, "Settings", `<Settings xmlns="Settings"><UserInformation><Get/></UserInformation></Settings>`); err != nil {
			log.Fatal(err)
		}
		if _, _, err := other.sync(ctx, 100); err != nil {
			log.Fatal(err)
		}
		lat = append(lat, time.Since(r0)/2)
	}
	early := answered.Load()
	// One delivery wakes them all.
	c, err := gosmtp.Dial(s.smtp)
	if err != nil {
		log.Fatal(err)
	}
	w0 := time.Now()
	if err := smtpSend(c, "ping@bench.test", message(1, "ping@bench.test")); err != nil {
		log.Fatal(err)
	}
	c.Close()
	bad := 0
	for range devs {
		if st := <-results; st != "2" {
			bad++
		}
	}
	wake := time.Since(w0)
	_, peak := s.rss()
	fmt.Printf("### %d Pings parked at once (one account, %d devices, one HTTP connection each)\n\n", len(devs), len(devs))
	fmt.Printf("Devices set up (Provision ×2, FolderSync, Sync) in %s with %d at a time.\n\n", setup.Round(time.Second), *par)
	fmt.Println("| | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| server RSS before the Pings | %.1f MB |\n", float64(before)/1e6)
	fmt.Printf("| server RSS 10 s after the %d Pings arrived | %.1f MB |\n", len(devs), float64(parked10)/1e6)
	fmt.Printf("| server RSS %s after, still parked | **%.1f MB** (at most %.1f KB per Ping, the whole RSS divided by the Pings) |\n", *settle, float64(parked)/1e6, float64(parked)/float64(len(devs))/1e3)
	fmt.Printf("| other requests meanwhile (Settings, Sync; 200 each) p50 / p99 | %s / **%s** |\n", ms(percentile(lat, .5)), ms(percentile(lat, .99)))
	fmt.Printf("| one delivery to answer all %d Pings with Status 2 | %s (%d answered otherwise, %d before it) |\n", len(devs), wake.Round(time.Millisecond), bad, early)
	fmt.Printf("| server peak RSS (VmHWM) over the run | %.1f MB |\n\n", float64(peak)/1e6)
}
