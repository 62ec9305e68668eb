// Package admin carries out the administration subcommands (user, domain…). The same
// Service runs inside `gatehouse serve`, reached through the control socket so that
// the server's in-memory state and change feed see every change, and in the admin
// command itself when no server runs.
package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/smtp/queue"
	"github.com/gatehouse/gatehouse/store"
)

// Request is one administration command.
type Request struct {
	Op       string `json:"op"` // "user.add", "user.passwd", "user.list", "user.del", "domain.add", "domain.list", "domain.del", "domain.dkim", "queue.list", "queue.flush", "queue.delete", "device.list", "device.wipe", "user.set", "group.add", "group.list", "group.del", "group.members", "group.set"
	Email    string `json:"email,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Name     string `json:"name,omitempty"`
	Password string `json:"password,omitempty"` // empty on user.add/passwd: one is generated and shown
	ID       int64  `json:"id,omitempty"`       // queue.delete: the queued message
	// device.wipe: the ActiveSync DeviceId, and whether to remove only this account's data.
	DeviceID    string `json:"device_id,omitempty"`
	AccountOnly bool   `json:"account_only,omitempty"`
	// group.add, group.members: members to add; group.members: members to remove.
	Members []string `json:"members,omitempty"`
	Remove  []string `json:"remove,omitempty"`
	// user.set, group.add, group.set: hide from (true) or show in (false) the address
	// book; nil: unchanged.
	Hidden *bool `json:"hidden,omitempty"`
	// user.set: the attributes to change, by flag name (UserAttrs); group.set: "name".
	Attrs map[string]string `json:"attrs,omitempty"`
	// user.set: the new photo (JPEG or PNG), or RemovePhoto.
	Photo       []byte `json:"photo,omitempty"`
	RemovePhoto bool   `json:"remove_photo,omitempty"`
}

// Response is what the command prints, and how it exits.
type Response struct {
	Output string `json:"output,omitempty"` // for standard output
	Error  string `json:"error,omitempty"`  // for standard error
	Exit   int    `json:"exit"`
}

// Exit codes of the admin commands.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed (exists, not found…)
	ExitUsage = 2 // bad arguments or configuration
)

// Service executes Requests against a store.
type Service struct {
	st  *store.Store
	dir *directory.Directory
	// kickQueue wakes the running outbound queue after a flush; nil when no server runs
	// (the next server start delivers what is due).
	kickQueue func()
}

// NewService makes a Service. kickQueue, if not nil, wakes the running outbound queue.
func NewService(st *store.Store, dir *directory.Directory, kickQueue func()) *Service {
	return &Service{st: st, dir: dir, kickQueue: kickQueue}
}

// dkimRecord makes sure a hosted domain has a DKIM key and tells the DNS record to
// publish for it.
func (s *Service) dkimRecord(ctx context.Context, domain string) (string, error) {
	k, err := queue.EnsureDKIMKey(ctx, s.st, store.NormalizeDomain(domain))
	if err != nil {
		return "", err
	}
	name, value, err := queue.DKIMRecord(k)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("publish this DNS record so that receivers can verify mail from %s:\n%s. IN TXT \"%s\"\n", k.Domain, name, value), nil
}

// Do runs one request.
func (s *Service) Do(ctx context.Context, req Request) Response {
	out, err := s.do(ctx, req)
	if err != nil {
		code := ExitError
		if errors.Is(err, errUsage) {
			code = ExitUsage
		}
		return Response{Output: out, Error: userMessage(err), Exit: code}
	}
	return Response{Output: out}
}

var errUsage = errors.New("usage")

// userMessage turns a store error into a sentence for an administrator.
func userMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"store: ", "directory: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

func (s *Service) do(ctx context.Context, req Request) (string, error) {
	switch req.Op {
	case "user.add":
		if req.Email == "" {
			return "", fmt.Errorf("%w: user add EMAIL", errUsage)
		}
		pw, generated := req.Password, false
		if pw == "" {
			pw, generated = RandomPassword(), true
		}
		acct, newDomain, err := s.dir.CreateUser(ctx, directory.NewUser{Email: req.Email, Password: pw,
			Attributes: store.Attributes{DisplayName: req.Name}})
		if err != nil {
			if errors.Is(err, store.ErrExists) {
				return "", fmt.Errorf("user %s already exists", strings.ToLower(req.Email))
			}
			return "", err
		}
		var b strings.Builder
		if newDomain {
			_, domain, _ := store.SplitAddress(acct.Email)
			fmt.Fprintf(&b, "added domain %s\n", domain)
			rec, err := s.dkimRecord(ctx, domain)
			if err != nil {
				return b.String(), err
			}
			b.WriteString(rec)
		}
		fmt.Fprintf(&b, "added user %s\n", acct.Email)
		if generated {
			fmt.Fprintf(&b, "password: %s\n", pw)
		}
		return b.String(), nil
	case "user.passwd":
		pw, generated := req.Password, false
		if pw == "" {
			pw, generated = RandomPassword(), true
		}
		if err := s.dir.SetPassword(ctx, req.Email, pw); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("no user %s", req.Email)
			}
			return "", err
		}
		out := fmt.Sprintf("password changed for %s\n", req.Email)
		if generated {
			out += fmt.Sprintf("password: %s\n", pw)
		}
		return out, nil
	case "user.list":
		accts, err := s.st.Accounts(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tNAME\tMESSAGES\tSIZE")
		for _, a := range accts {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", a.Email, a.DisplayName, a.UsageItems, a.UsageBytes)
		}
		w.Flush()
		return b.String(), nil
	case "user.del":
		acct, err := s.st.AccountByEmail(ctx, req.Email)
		if err != nil {
			return "", fmt.Errorf("no user %s", req.Email)
		}
		if err := s.st.DeleteAccount(ctx, acct.ID); err != nil {
			return "", err
		}
		return fmt.Sprintf("deleted user %s and all of its data\n", acct.Email), nil
	case "domain.add":
		d, err := s.st.AddDomain(ctx, req.Domain)
		if err != nil {
			if errors.Is(err, store.ErrExists) {
				return "", fmt.Errorf("domain %s already exists", store.NormalizeDomain(req.Domain))
			}
			return "", err
		}
		rec, err := s.dkimRecord(ctx, d.Name)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("added domain %s\n", d.Name) + rec, nil
	case "domain.dkim":
		if _, err := s.st.DomainByName(ctx, req.Domain); err != nil {
			return "", fmt.Errorf("no domain %s", req.Domain)
		}
		return s.dkimRecord(ctx, req.Domain)
	case "queue.list":
		entries, err := s.st.QueueList(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tFROM\tTO\tSIZE\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
		for _, e := range entries {
			from := e.From
			if from == "" {
				from = "<>"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", e.MsgID, from, e.Rcpt, e.Size, e.Attempts,
				e.NextAttempt.UTC().Format("2006-01-02 15:04:05Z"), e.LastError)
		}
		w.Flush()
		return b.String(), nil
	case "queue.flush":
		n, err := s.st.QueueFlush(ctx)
		if err != nil {
			return "", err
		}
		if s.kickQueue != nil {
			s.kickQueue()
			return fmt.Sprintf("%d recipients due now; delivery started\n", n), nil
		}
		return fmt.Sprintf("%d recipients due now; no server is running, they go out when it starts\n", n), nil
	case "queue.delete":
		if err := s.st.QueueDelete(ctx, req.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("no queued message %d", req.ID)
			}
			return "", err
		}
		return fmt.Sprintf("deleted queued message %d (no bounce sent)\n", req.ID), nil
	case "device.list", "device.wipe":
		return s.device(ctx, req)
	case "user.set":
		return s.userSet(ctx, req)
	case "group.add", "group.list", "group.del", "group.members", "group.set":
		return s.group(ctx, req)
	case "domain.list":
		ds, err := s.st.Domains(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, d := range ds {
			b.WriteString(d.Name + "\n")
		}
		return b.String(), nil
	case "domain.del":
		if err := s.st.DeleteDomain(ctx, req.Domain); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("no domain %s", req.Domain)
			}
			return "", err
		}
		return fmt.Sprintf("deleted domain %s\n", store.NormalizeDomain(req.Domain)), nil
	}
	return "", fmt.Errorf("%w: unknown operation %q", errUsage, req.Op)
}

// RandomPassword makes a 20-character password from an alphabet without look-alikes.
func RandomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand never fails on supported systems
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
