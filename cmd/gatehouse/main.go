// Command gatehouse is the Gatehouse groupware server and its administration tool:
//
//	gatehouse serve [--config FILE] [--data DIR]
//	gatehouse user add EMAIL [--name "Display Name"] [--password-stdin]
//	gatehouse user passwd EMAIL [--password-stdin]
//	gatehouse user list | user del EMAIL
//	gatehouse domain add DOMAIN | domain list | domain del DOMAIN
//	gatehouse domain dkim DOMAIN
//	gatehouse queue list | queue flush | queue delete ID
//	gatehouse device list [EMAIL] | device wipe EMAIL DEVICEID [--account-only]
//	gatehouse user set EMAIL [--name N] [--title T] [--phone P] … [--photo FILE] [--hidden|--visible]
//	gatehouse group add LIST@DOMAIN MEMBER… [--name N] [--hidden]
//	gatehouse group list [DOMAIN] | group del LIST@DOMAIN
//	gatehouse group members LIST@DOMAIN [--add A,B…] [--remove C,D…]
//	gatehouse group set LIST@DOMAIN [--name N] [--hidden|--visible]
//	gatehouse version
//
// While a server runs on the data directory, the admin subcommands send their work to
// it over the control socket; otherwise they open the store themselves.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `usage:
  gatehouse serve [--config FILE] [--data DIR]
  gatehouse user add EMAIL [--name "Display Name"] [--password-stdin]
  gatehouse user passwd EMAIL [--password-stdin]
  gatehouse user list
  gatehouse user del EMAIL
  gatehouse domain add DOMAIN | domain list | domain del DOMAIN
  gatehouse domain dkim DOMAIN
  gatehouse queue list | queue flush | queue delete ID
  gatehouse device list [EMAIL]
  gatehouse device wipe EMAIL DEVICEID [--account-only]
  gatehouse user set EMAIL [--name N] [--given G] [--surname S] [--title T]
      [--department D] [--company C] [--office O] [--phone P] [--mobile M]
      [--street S] [--city C] [--postal-code P] [--country C]
      [--photo FILE.jpg|FILE.png|""] [--hidden|--visible]
      (only the given fields change; an empty value clears one; photo <= 100 KB)
  gatehouse group add LIST@DOMAIN MEMBER... [--name "Display Name"] [--hidden]
  gatehouse group list [DOMAIN]
  gatehouse group del LIST@DOMAIN
  gatehouse group members LIST@DOMAIN [--add A,B...] [--remove C,D...]
      (--add and --remove may be repeated; members are accounts, aliases,
      other groups or external addresses)
  gatehouse group set LIST@DOMAIN [--name "Display Name"] [--hidden|--visible]
  gatehouse version

Every subcommand takes --config FILE and --data DIR.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli holds the flags every subcommand shares.
type cli struct {
	configFile, dataDir, name string
	passwordStdin             bool
	accountOnly               bool
	hidden, visible           bool
	add, remove               []string          // group members --add/--remove
	attrs                     map[string]string // user set: the attribute flags given
	photo                     *string           // user set --photo, if given
	stdin                     io.Reader
	stdout, stderr            io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.configFile, "config", "", "configuration file (TOML)")
	fs.StringVar(&c.dataDir, "data", "", "data directory (overrides data_dir)")
	fs.StringVar(&c.name, "name", "", "display name (user add)")
	fs.BoolVar(&c.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.BoolVar(&c.accountOnly, "account-only", false, "device wipe: remove only this account's data (ActiveSync 16.1 devices)")
	c.groupFlags(fs)
	pos, err := parseInterspersed(fs, args)
	c.visited(fs)
	if err != nil || len(pos) == 0 {
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		}
		fmt.Fprint(stderr, usage)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return admin.ExitUsage
	}
	if pos[0] == "version" {
		fmt.Fprintf(stdout, "gatehouse %s (schema %d)\n", versionString(), store.SchemaVersion())
		return 0
	}
	cfg, err := config.Load(c.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return admin.ExitUsage
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	switch pos[0] {
	case "serve":
		if len(pos) != 1 {
			return c.usageError("serve takes no arguments")
		}
		return c.serve(cfg)
	case "user", "domain", "queue", "device", "group":
		req, err := c.request(pos)
		if err != nil {
			return c.usageError(err.Error())
		}
		return c.adminCommand(cfg, req)
	}
	return c.usageError(fmt.Sprintf("unknown command %q", pos[0]))
}

func (c *cli) usageError(msg string) int {
	fmt.Fprintf(c.stderr, "gatehouse: %s\n%s", msg, usage)
	return admin.ExitUsage
}

// parseInterspersed lets flags follow positional arguments, as in
// `gatehouse user add bob@example.org --password-stdin`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (c *cli) request(pos []string) (admin.Request, error) {
	want := func(n int, form string) error {
		if len(pos) != n {
			return fmt.Errorf("usage: gatehouse %s", form)
		}
		return nil
	}
	if len(pos) < 2 {
		return admin.Request{}, fmt.Errorf("%s needs a subcommand", pos[0])
	}
	op := pos[0] + "." + pos[1]
	req := admin.Request{Op: op, Name: c.name}
	var err error
	switch op {
	case "user.add", "user.passwd":
		if err = want(3, pos[0]+" "+pos[1]+" EMAIL"); err == nil {
			req.Email = pos[2]
			if c.passwordStdin {
				req.Password, err = readPassword(c.stdin)
			}
		}
	case "user.del":
		if err = want(3, "user del EMAIL"); err == nil {
			req.Email = pos[2]
		}
	case "user.list", "domain.list":
		err = want(2, pos[0]+" list")
	case "domain.add", "domain.del", "domain.dkim":
		if err = want(3, "domain "+pos[1]+" DOMAIN"); err == nil {
			req.Domain = pos[2]
		}
	case "queue.list", "queue.flush":
		err = want(2, "queue "+pos[1])
	case "queue.delete":
		if err = want(3, "queue delete ID"); err == nil {
			if req.ID, err = strconv.ParseInt(pos[2], 10, 64); err != nil || req.ID <= 0 {
				err = fmt.Errorf("queue delete: %q is not a message id", pos[2])
			}
		}
	case "device.list":
		if len(pos) > 3 {
			err = errors.New("usage: gatehouse device list [EMAIL]")
		} else if len(pos) == 3 {
			req.Email = pos[2]
		}
	case "device.wipe":
		if err = want(4, "device wipe EMAIL DEVICEID [--account-only]"); err == nil {
			req.Email, req.DeviceID, req.AccountOnly = pos[2], pos[3], c.accountOnly
		}
	case "user.set", "group.add", "group.list", "group.del", "group.members", "group.set":
		return c.directoryRequest(req, pos)
	default:
		err = fmt.Errorf("unknown command %q", pos[0]+" "+pos[1])
	}
	return req, err
}

// readPassword reads one line from standard input (like docker login --password-stdin).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("--password-stdin: no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: empty password")
	}
	return pw, nil
}

// adminCommand runs a request through a running server's control socket, or directly
// on the store when no server holds the data directory.
func (c *cli) adminCommand(cfg *config.Config, req admin.Request) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var resp admin.Response
	if store.DirLocked(cfg.DataDir) {
		var err error
		// A server that is still starting holds the lock before its socket exists.
		for wait := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err = admin.Call(ctx, cfg.DataDir, req)
			if err == nil || !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(wait) {
				break
			}
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "gatehouse: a server holds %s but its control socket does not answer: %v\n", cfg.DataDir, err)
			return admin.ExitError
		}
	} else {
		st, err := store.Open(ctx, store.Options{Dir: cfg.DataDir, MaxMessageSize: int64(cfg.Limits.MaxMessageSize)})
		if err != nil {
			fmt.Fprintf(c.stderr, "gatehouse: %v\n", err)
			return admin.ExitError
		}
		dir := directory.New(st, directory.Options{DefaultDomain: cfg.DefaultDomain()})
		resp = admin.NewService(st, dir, nil).Do(ctx, req)
		if err := st.Close(); err != nil {
			fmt.Fprintf(c.stderr, "gatehouse: %v\n", err)
			return admin.ExitError
		}
	}
	fmt.Fprint(c.stdout, resp.Output)
	if resp.Error != "" {
		fmt.Fprintf(c.stderr, "gatehouse: %s\n", resp.Error)
	}
	return resp.Exit
}

func (c *cli) serve(cfg *config.Config) int {
	log := slog.New(cfg.Log.Handler(c.stderr))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	followGoRun()
	err := app.Run(ctx, cfg, log, func(a *app.App) {
		if a.AdminPassword != "" {
			fmt.Fprintf(c.stdout, "Created the first administrator: %s\nPassword: %s\n(shown once; change it with: gatehouse user passwd %s)\n",
				a.AdminEmail, a.AdminPassword, a.AdminEmail)
		}
		log.Info("gatehouse is running", "version", versionString(), "data", cfg.DataDir)
	})
	if err != nil {
		log.Error("gatehouse stopped", "err", err)
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintf(c.stderr, "gatehouse: another gatehouse is running on %s\n", cfg.DataDir)
		}
		return admin.ExitError
	}
	log.Info("gatehouse stopped")
	return 0
}
