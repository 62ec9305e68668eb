package activesync

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// Path is where ActiveSync is served ([MS-ASHTTP] 2.2.1.1).
const Path = "/Microsoft-Server-ActiveSync"

// Sender is the submission path ActiveSync sends mail through (SendMail, SmartReply,
// SmartForward): the SMTP front end's, wired by internal/app, so that a message sent
// from a phone is treated exactly like one sent from a desktop client.
type Sender interface {
	// Submit sends raw, a complete RFC 5322 message, as acct to rcpts (none: the
	// message's To, Cc and Bcc): local recipients are delivered, remote ones queued.
	// It checks that the From address is one of acct's own.
	Submit(ctx context.Context, acct store.Account, rcpts []string, raw []byte) error
}

// Options configure the ActiveSync handler.
type Options struct {
	Store     *store.Store
	Directory *directory.Directory
	Logger    *slog.Logger
	// Hostname is the server's public name (the Basic realm).
	Hostname string
	// AllowPlaintextWithoutTLS accepts Basic credentials over plain HTTP from any address
	// (otherwise only from loopback, or from a proxy on loopback saying https).
	AllowPlaintextWithoutTLS bool
	// MaxRequestSize bounds a request body (limits.max_message_size).
	MaxRequestSize int64
	// MaxRecipients bounds the recipients of one sent message.
	MaxRecipients int
	// Policy is what Provision hands out.
	Policy Policy
	// HeartbeatMin and HeartbeatMax bound a Ping's HeartbeatInterval and a Sync's Wait
	// ([MS-ASCMD] 2.2.3.84.2); zero: 60 s and 3540 s.
	HeartbeatMin, HeartbeatMax time.Duration
	// MaxPingFolders bounds the folders of one Ping ([MS-ASCMD] 2.2.3.62 MaxFolders);
	// zero: 300.
	MaxPingFolders int
	// Sender submits mail; nil: SendMail answers Status 110 (server error).
	Sender Sender
	// GAL is the address book Search, Find and ResolveRecipients read; nil: GAL searches
	// answer a server error and ResolveRecipients finds no one in it.
	GAL *directory.GAL
}

// Handler serves ActiveSync. It is safe for concurrent use.
type Handler struct {
	opts Options
	st   *store.Store
	log  *slog.Logger

	mu       sync.Mutex
	parked   map[parkKey]*parkedRequest // the one long poll (Ping or hanging Sync) per device
	stopping bool
	pings    *pingHub
	// policyPrint is the fingerprint of Options.Policy.
	policyPrint string
}

// New makes the ActiveSync handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HeartbeatMin == 0 {
		opts.HeartbeatMin = 60 * time.Second
	}
	if opts.HeartbeatMax == 0 {
		opts.HeartbeatMax = 3540 * time.Second
	}
	if opts.MaxPingFolders == 0 {
		opts.MaxPingFolders = 300
	}
	if opts.MaxRequestSize == 0 {
		opts.MaxRequestSize = 50 << 20
	}
	if opts.MaxRecipients == 0 {
		opts.MaxRecipients = 500
	}
	h := &Handler{opts: opts, st: opts.Store, log: opts.Logger.With("proto", "activesync"), parked: map[parkKey]*parkedRequest{}}
	h.pings = newPingHub(h)
	h.policyPrint = opts.Policy.fingerprint()
	return h
}

// Routes mounts h on r at Path, in any letter case (some clients lower-case it).
func Routes(r chi.Router, h *Handler) {
	r.Handle("/{easPath:(?i)microsoft-server-activesync}", h)
	r.Handle("/{easPath:(?i)microsoft-server-activesync}/*", h)
}

// request is one ActiveSync request after authentication and decoding.
type request struct {
	ctx     context.Context
	http    *http.Request
	w       http.ResponseWriter
	acct    store.Account
	p       store.Principal
	dev     store.Device
	q       query
	cmd     string
	version int
	// policyKey is the X-MS-PolicyKey header (or the base64 query's); 0 when absent.
	policyKey uint32
	body      *wbxml.Node // nil: empty body
	raw       []byte      // the body as received (SendMail at 12.1 is raw MIME)
	log       *slog.Logger
}

// response is what a command answers. The zero value is an empty 200.
type response struct {
	status      int // HTTP status; 0 means 200
	body        *wbxml.Node
	raw         []byte // a non-WBXML body (GetAttachment, multipart ItemOperations)
	contentType string
	header      http.Header
	// hijacked: the command took the connection over and answers on it itself.
	hijacked bool
}

type command func(h *Handler, rq *request) (*response, error)

// commands maps the Cmd parameter to its handler ([MS-ASCMD] 2.2.1).
func (h *Handler) command(name string) (command, bool) {
	switch name {
	case "Sync":
		return (*Handler).cmdSync, true
	case "FolderSync":
		return (*Handler).cmdFolderSync, true
	case "FolderCreate":
		return (*Handler).cmdFolderCreate, true
	case "FolderUpdate":
		return (*Handler).cmdFolderUpdate, true
	case "FolderDelete":
		return (*Handler).cmdFolderDelete, true
	case "Provision":
		return (*Handler).cmdProvision, true
	case "Settings":
		return (*Handler).cmdSettings, true
	case "Ping":
		return (*Handler).cmdPing, true
	case "GetItemEstimate":
		return (*Handler).cmdGetItemEstimate, true
	case "ItemOperations":
		return (*Handler).cmdItemOperations, true
	case "MoveItems":
		return (*Handler).cmdMoveItems, true
	case "SendMail":
		return (*Handler).cmdSendMail, true
	case "SmartReply":
		return (*Handler).cmdSmartReply, true
	case "SmartForward":
		return (*Handler).cmdSmartForward, true
	case "GetAttachment":
		return (*Handler).cmdGetAttachment, true
	case "Search":
		return (*Handler).cmdSearch, true
	case "Find":
		return (*Handler).cmdFind, true
	case "ResolveRecipients":
		return (*Handler).cmdResolveRecipients, true
	}
	return nil, false
}

// advertisedCommands is MS-ASProtocolCommands ([MS-ASHTTP] 2.2.2.1.1.1): what command
// answers, and nothing more.
var advertisedCommands = []string{"Sync", "SendMail", "SmartForward", "SmartReply", "GetAttachment",
	"FolderSync", "FolderCreate", "FolderDelete", "FolderUpdate", "MoveItems", "GetItemEstimate",
	"Settings", "Ping", "ItemOperations", "Provision", "Search", "Find", "ResolveRecipients"}

// ServeHTTP authenticates, decodes, dispatches and encodes one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodOptions {
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if directory.HTTPPlaintextRefused(r, h.opts.AllowPlaintextWithoutTLS) {
		http.Error(w, "ActiveSync requires HTTPS", http.StatusForbidden)
		return
	}
	acct, err := h.opts.Directory.AuthenticateHTTP(r, "activesync")
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		directory.Challenge(w, h.opts.Hostname)
		return
	}
	// Every response says who we are ([MS-ASHTTP] 2.2.2.1.1.1).
	w.Header().Set("MS-Server-ActiveSync", "16.1")
	if r.Method == http.MethodOptions {
		// [MS-ASHTTP] 2.2.2.1.1.1, 3.2.5.1: the versions and commands we support.
		w.Header().Set("MS-ASProtocolVersions", protocolVersions)
		w.Header().Set("MS-ASProtocolCommands", strings.Join(advertisedCommands, ","))
		w.Header().Set("Allow", "OPTIONS,POST")
		w.Header().Set("Public", "OPTIONS,POST")
		w.WriteHeader(http.StatusOK)
		return
	}
	rq, err := h.newRequest(w, r, acct)
	if err != nil {
		h.writeError(w, rq, err)
		return
	}
	resp, err := h.dispatch(rq)
	if err != nil {
		h.writeError(w, rq, err)
		return
	}
	h.writeResponse(w, rq, resp)
}

// Errors the HTTP layer answers itself.
var (
	errBadRequest   = errors.New("activesync: bad request")
	errUnknownCmd   = errors.New("activesync: unknown command")
	errBadVersion   = errors.New("activesync: unsupported protocol version")
	errTooLarge     = errors.New("activesync: request too large")
	errNoDevice     = errors.New("activesync: no DeviceId")
	errNotAvailable = errors.New("activesync: not available")
)

// newRequest parses the query and headers, registers the device and reads the body.
func (h *Handler) newRequest(w http.ResponseWriter, r *http.Request, acct store.Account) (*request, error) {
	rq := &request{ctx: r.Context(), http: r, w: w, acct: acct, p: store.Principal{AccountID: acct.ID}}
	rq.log = h.log.With("remote", directory.HTTPClientIP(r), "user", acct.Email)
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return rq, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	rq.q, rq.cmd = q, q.Cmd
	if q.DeviceID == "" {
		return rq, errNoDevice
	}
	rq.version = q.Version
	if rq.version == 0 {
		v, ok := parseVersion(r.Header.Get("MS-ASProtocolVersion"))
		if !ok {
			return rq, errBadVersion
		}
		rq.version = v
	}
	if q.HasPolicyKey {
		rq.policyKey = q.PolicyKey
	} else if pk := r.Header.Get("X-MS-PolicyKey"); pk != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(pk), 10, 32)
		if err != nil {
			return rq, fmt.Errorf("%w: X-MS-PolicyKey", errBadRequest)
		}
		rq.policyKey = uint32(n)
	}
	rq.log = rq.log.With("device", q.DeviceID, "cmd", q.Cmd)
	if _, ok := h.command(q.Cmd); !ok {
		return rq, errUnknownCmd
	}
	if rq.dev, err = h.deviceSeen(rq.ctx, rq, r.UserAgent()); err != nil {
		return rq, err
	}
	if r.ContentLength > h.opts.MaxRequestSize {
		return rq, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxRequestSize+1))
	if err != nil {
		return rq, fmt.Errorf("%w: reading body: %v", errBadRequest, err)
	}
	if int64(len(body)) > h.opts.MaxRequestSize {
		return rq, errTooLarge
	}
	rq.raw = body
	if len(body) > 0 && isWBXML(r.Header.Get("Content-Type"), body) {
		if rq.body, err = wbxml.Decode(body); err != nil {
			return rq, err
		}
		rq.log.Debug("request", "body", rq.body.String())
	}
	return rq, nil
}

// isWBXML says whether a body is WBXML: by its Content-Type, or (clients that send none)
// by the WBXML 1.3 header EAS uses.
func isWBXML(contentType string, body []byte) bool {
	if strings.HasPrefix(strings.ToLower(contentType), wbxml.ContentType) {
		return true
	}
	if contentType == "" || strings.HasPrefix(strings.ToLower(contentType), "application/octet-stream") {
		return len(body) >= 4 && body[0] == 0x03 && body[1] == 0x01 && body[2] == 0x6a && body[3] == 0x00
	}
	return false
}

// deviceSeen registers the device on first contact and notes its last contact. A write
// is made only when something changed or a minute has passed, so that a busy device does
// not cost a durable commit per request.
func (h *Handler) deviceSeen(ctx context.Context, rq *request, userAgent string) (store.Device, error) {
	dev, err := h.st.Device(ctx, rq.p, rq.q.DeviceID)
	ver := versionString(rq.version)
	if err == nil && time.Since(dev.LastSeen) < time.Minute && dev.UserAgent == userAgent &&
		dev.ProtocolVersion == ver && (rq.q.DeviceType == "" || dev.DeviceType == rq.q.DeviceType) {
		return dev, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return dev, err
	}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	devType := rq.q.DeviceType
	if len(devType) > 64 {
		devType = devType[:64]
	}
	return h.st.DeviceSeen(ctx, rq.p, rq.q.DeviceID, devType, userAgent, ver)
}

// dispatch applies the provisioning gate and runs the command.
func (h *Handler) dispatch(rq *request) (*response, error) {
	if resp := h.provisioningGate(rq); resp != nil {
		return resp, nil
	}
	cmd, _ := h.command(rq.cmd)
	return cmd(h, rq)
}

// provisioningGate answers a request that must provision first ([MS-ASPROV] 3.2.5.1.1):
// HTTP 449 before 14.0; from 14.0 the command's own response with Status 142 (not
// provisioned), 143 (the policy changed since the key was given), 144 (a policy key that
// is not the current one) or 140 (a remote wipe is pending) ([MS-ASCMD] 2.2.2 common
// status codes). Provision itself, and Settings (iOS sends DeviceInformation before
// provisioning), pass; a Ping without a policy key passes on a provisioned device (the
// Android client omits the header on Ping).
func (h *Handler) provisioningGate(rq *request) *response {
	switch rq.cmd {
	case "Provision", "Settings":
		return nil
	}
	dev := rq.dev
	wipe := dev.Wipe == store.WipeRequested || dev.Wipe == store.WipeAccountOnly
	var status int
	switch {
	case wipe:
		status = 140
	case dev.PolicyKey == 0:
		status = 142
	case rq.policyKey == 0 && rq.cmd == "Ping":
		return nil
	case rq.policyKey == 0:
		status = 142
	case rq.policyKey != dev.PolicyKey:
		status = 144
	case policyChanged(dev, h.policyPrint):
		// [MS-ASPROV] 3.1.5.1.1: the policy changed since the device's key was
		// given; it must fetch the new one (Status 143, PolicyRefresh).
		status = 143
	default:
		return nil
	}
	rq.log.Debug("provisioning required", "status", status)
	if rq.version < v140 || rq.cmd == "GetAttachment" {
		return &response{status: 449}
	}
	space, root := commandRoot(rq.cmd)
	return &response{body: wbxml.NewElem(space, root, wbxml.NewText(space, "Status", strconv.Itoa(status)))}
}

// policyChanged says whether a provisioned device's key was given for another policy.
func policyChanged(dev store.Device, current string) bool {
	p := policyPrintOf(dev)
	return p != "" && p != current
}

// commandRoot is the namespace and root element of a command's response.
func commandRoot(cmd string) (space, root string) {
	switch cmd {
	case "Sync":
		return "AirSync", "Sync"
	case "FolderSync", "FolderCreate", "FolderUpdate", "FolderDelete":
		return "FolderHierarchy", cmd
	case "Ping":
		return "Ping", "Ping"
	case "GetItemEstimate":
		return "GetItemEstimate", "GetItemEstimate"
	case "ItemOperations":
		return "ItemOperations", "ItemOperations"
	case "MoveItems":
		return "Move", "MoveItems"
	case "SendMail", "SmartReply", "SmartForward":
		return "ComposeMail", cmd
	case "Settings":
		return "Settings", "Settings"
	case "Provision":
		return "Provision", "Provision"
	case "Search":
		return "Search", "Search"
	case "ResolveRecipients":
		return "ResolveRecipients", "ResolveRecipients"
	case "MeetingResponse":
		return "MeetingResponse", "MeetingResponse"
	case "Find":
		return "Find", "Find"
	}
	return "AirSync", cmd
}

// gzipMin is the smallest response worth compressing.
const gzipMin = 1 << 10

// writeResponse encodes and sends a command's response, gzipped when the client accepts it.
func (h *Handler) writeResponse(w http.ResponseWriter, rq *request, resp *response) {
	if resp.hijacked {
		return
	}
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	body, ctype := resp.raw, resp.contentType
	if resp.body != nil {
		b, err := wbxml.Encode(resp.body)
		if err != nil {
			h.writeError(w, rq, fmt.Errorf("activesync: encoding the response: %w", err))
			return
		}
		body, ctype = b, wbxml.ContentType
		rq.log.Debug("response", "body", resp.body.String())
	}
	if len(body) > 0 && ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	if len(body) >= gzipMin && acceptsGzip(rq.http) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
		_ = params
	}
	return false
}

// writeError is the one place where an error becomes an HTTP answer. Command-level
// failures the protocol defines (Status codes) are answered by the commands themselves;
// what reaches here is malformed input, a refused request, or a server fault.
func (h *Handler) writeError(w http.ResponseWriter, rq *request, err error) {
	log := h.log
	if rq != nil && rq.log != nil {
		log = rq.log
	}
	var syn *wbxml.SyntaxError
	switch {
	case errors.Is(err, context.Canceled):
		return // the client went away
	case errors.Is(err, errTooLarge), errors.Is(err, store.ErrTooLarge):
		log.Info("request too large", "err", err)
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
	case errors.As(err, &syn), errors.Is(err, wbxml.ErrLimit), errors.Is(err, errBadRequest),
		errors.Is(err, errNoDevice), errors.Is(err, errUnknownCmd), errors.Is(err, errBadVersion):
		log.Info("bad request", "err", err)
		http.Error(w, "bad request", http.StatusBadRequest)
	case errors.Is(err, errNotAvailable), errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrConflict),
		errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	default:
		log.Error("request failed", "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
	}
}

// statusNode is <Status>n</Status> in a namespace.
func statusNode(space string, code int) *wbxml.Node {
	return wbxml.NewText(space, "Status", strconv.Itoa(code))
}
