// Package autodiscover is Gatehouse's Autodiscover front end: what lets a person type only
// an address and a password on a phone or in Outlook.
//
// It serves, on the http and https listeners:
//
//   - POST /autodiscover/autodiscover.xml (the "POX" Autodiscover of [MS-OXDSCLI], matched
//     in any letter case, on any host name including autodiscover.<domain>), authenticated
//     by HTTP Basic through directory.Authenticate. A request in the mobilesync schema
//     ([MS-ASCMD] 2.2.1.1 Autodiscover) is answered with the ActiveSync URL in the mobilesync
//     response schema; a request in the outlook schema ([MS-OXDSCLI] 2.2.3, 2.2.4) with an
//     Account whose Protocol elements give the ActiveSync URL (Type MobileSync) and, when
//     configured, IMAP and SMTP.
//   - GET /autodiscover/autodiscover.json/v1.0/{email}?Protocol=ActiveSync and
//     GET /autodiscover/autodiscover.json?Email=…&Protocol=ActiveSync, unauthenticated,
//     answering {"Protocol":"ActiveSync","Url":"…"} as Exchange's Autodiscover V2 does.
//
// Answers, decided once in this package:
//
//   - no credentials or wrong ones: 401 with WWW-Authenticate: Basic;
//   - plain HTTP from anywhere but loopback (unless Options.AllowPlaintextWithoutTLS): a
//     302 to https://<Hostname>/autodiscover/autodiscover.xml before any credential is
//     looked at ([MS-OXDSCLI] 3.2.5: the server SHOULD redirect with 302 and Location);
//   - an empty body (some Android clients send none): the authenticated user's mobilesync
//     settings;
//   - a body that is not an Autodiscover request (not XML, wrong root, no or several
//     Request elements, over 64 KiB): HTTP 400 (413 when too large) carrying an
//     Autodiscover Error 600 "Invalid Request" ([MS-ASCMD] 2.2.3.64, 2.2.3.150.1);
//   - an AcceptableResponseSchema we do not provide: 200 with Error 601 ([MS-ASCMD] 2.2.3.64);
//   - an EMailAddress that is not the authenticated user's own address or one of its
//     aliases: 200 with Error 600 (mobilesync) or, in the outlook schema, Error 500 "the
//     email address cannot be found" ([MS-OXDSCLI] 2.2.4.1.1.3.2). Redirect ([MS-ASCMD]
//     2.2.3.147) is not used: it names where a mailbox lives, and every mailbox lives here.
//     The same answer is given whether or not the other address exists;
//   - GET on the XML path: after authentication, 200 with Error 600, as Exchange answers;
//     over plain HTTP from elsewhere, the 302 above (the "HTTP redirect method" clients try
//     on autodiscover.<domain>).
package autodiscover

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/directory"
)

// Options configure the Autodiscover handler.
type Options struct {
	// Directory authenticates the Basic credentials.
	Directory *directory.Directory
	// Hostname is the public name of the server: the URLs handed out are
	// https://<Hostname>/Microsoft-Server-ActiveSync and https://<Hostname>/autodiscover/….
	Hostname string
	Logger   *slog.Logger
	// AllowPlaintextWithoutTLS accepts Basic credentials over plain HTTP from any address.
	// Without it, plain HTTP is accepted only from loopback (a TLS-terminating proxy on the
	// same machine; X-Forwarded-Proto: https from loopback counts as TLS).
	AllowPlaintextWithoutTLS bool
	// IMAPPort and SMTPPort, when not zero, are the public ports of the IMAP and SMTP
	// submission listeners with implicit TLS (993 and 465 in production), advertised to
	// clients asking in the outlook schema.
	IMAPPort, SMTPPort int
}

// maxBody bounds an Autodiscover request body; real ones are a few hundred bytes.
const maxBody = 64 << 10

// handler serves Autodiscover. It is safe for concurrent use.
type handler struct {
	opts Options
	log  *slog.Logger
}

// New makes the Autodiscover handler. It matches its own paths (case-insensitively) and
// answers 404 for any other, so it can be mounted on any prefix-free route.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{opts: opts, log: opts.Logger.With("proto", "autodiscover")}
}

// Routes mounts h on r for every letter case of the /autodiscover/ prefix
// (/Autodiscover/Autodiscover.xml, /AutoDiscover/AutoDiscover.xml, …).
func Routes(r chi.Router, h http.Handler) {
	r.Handle("/{autodiscoverPrefix:(?i)autodiscover}/*", h)
}

const (
	xmlPath  = "/autodiscover/autodiscover.xml"
	jsonPath = "/autodiscover/autodiscover.json"
	jsonV1   = "/autodiscover/autodiscover.json/v1.0/"
)

// ServeHTTP dispatches on the lower-cased path.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	switch {
	case p == xmlPath:
		h.serveXML(w, r)
	case p == jsonPath || p == strings.TrimSuffix(jsonV1, "/") || strings.HasPrefix(p, jsonV1):
		h.serveJSON(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) activeSyncURL() string {
	return "https://" + h.opts.Hostname + "/Microsoft-Server-ActiveSync"
}

func (h *handler) xmlURL() string {
	return "https://" + h.opts.Hostname + xmlPath
}

func (h *handler) plaintextRefused(r *http.Request) bool {
	return directory.HTTPPlaintextRefused(r, h.opts.AllowPlaintextWithoutTLS)
}
