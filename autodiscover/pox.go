package autodiscover

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// serveXML answers POST (and GET) /autodiscover/autodiscover.xml.
func (h *handler) serveXML(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "POST, GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.plaintextRefused(r) {
		// [MS-OXDSCLI] 3.2.5: redirect with 302 and Location. No credential sent in the
		// clear is looked at.
		http.Redirect(w, r, h.xmlURL(), http.StatusFound)
		return
	}
	acct, err := h.opts.Directory.AuthenticateHTTP(r, "autodiscover")
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return // the client went away while a failed login was being delayed
		}
		h.challenge(w)
		return
	}
	log := h.log.With("remote", directory.HTTPClientIP(r), "user", acct.Email)
	if r.Method != http.MethodPost {
		// Exchange answers a GET with the Invalid Request error; a client probing with
		// GET learns that Autodiscover lives here and that its credentials work.
		h.reply(w, http.StatusOK, errorEnvelope(schemaMobileSync, codeInvalidRequest, "POST an Autodiscover request"))
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		log.Info("request too large", "limit", maxBody)
		h.reply(w, http.StatusRequestEntityTooLarge, errorEnvelope(schemaMobileSync, codeInvalidRequest, "request too large"))
		return
	case err != nil:
		log.Debug("reading request", "err", err)
		return
	}
	status, e, err := h.answer(r.Context(), log, acct, body)
	if err != nil {
		h.fail(w, log, e, err)
		return
	}
	h.reply(w, status, e)
}

// answer decides the answer to an authenticated user's request body. An error (the store
// failing) comes with the schema the client reads, for fail.
func (h *handler) answer(ctx context.Context, log *slog.Logger, acct store.Account, body []byte) (int, envelope, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		// Some Android clients send no body: they want the ActiveSync settings of the
		// account they authenticated as.
		log.Debug("empty request, answering mobilesync settings")
		return http.StatusOK, h.mobileSettings(acct.DisplayName, acct.Email), nil
	}
	q, err := parseRequest(body)
	if err != nil {
		log.Info("invalid request", "err", err)
		return http.StatusBadRequest, errorEnvelope(schemaMobileSync, codeInvalidRequest, "not an Autodiscover request"), nil
	}
	s := q.responseSchema()
	if s == schemaUnknown {
		log.Info("unsupported response schema", "schema", q.AcceptableResponseSchema)
		return http.StatusOK, errorEnvelope(schemaMobileSync, codeNoProvider, "supported: "+nsMobileResponse+" "+nsOutlookResponse), nil
	}
	if q.Email != "" {
		own, err := h.ownAddress(ctx, acct, q.Email)
		if err != nil {
			return 0, internalError(s), err
		}
		if !own {
			log.Info("address is not the user's", "requested", q.Email)
			code := codeInvalidRequest
			if s == schemaOutlook {
				code = codeNotFound
			}
			return http.StatusOK, errorEnvelope(s, code, "the address is not the authenticated user's"), nil
		}
	}
	log.Debug("answered", "schema", q.AcceptableResponseSchema)
	if s == schemaOutlook {
		return http.StatusOK, h.outlookSettings(acct.DisplayName, acct.Email), nil
	}
	return http.StatusOK, h.mobileSettings(acct.DisplayName, acct.Email), nil
}

// ownAddress reports whether addr designates acct: its address or one of its aliases,
// in any letter case.
func (h *handler) ownAddress(ctx context.Context, acct store.Account, addr string) (bool, error) {
	if strings.EqualFold(addr, acct.Email) {
		return true, nil
	}
	// Only an address: ResolveLogin would also complete bare and DOMAIN\user names.
	if !strings.Contains(addr, "@") || strings.Contains(addr, `\`) {
		return false, nil
	}
	other, err := h.opts.Directory.ResolveLogin(ctx, addr)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		return false, nil
	case err != nil:
		return false, err
	}
	return other.ID == acct.ID, nil
}

// fail answers a request whose answer could not be computed: the one place where this
// front end maps internal errors to HTTP statuses and Autodiscover error codes. A client
// that went away gets nothing; anything else is 503 with Retry-After and, in the outlook
// schema, [MS-OXDSCLI] 2.2.4.1.1.3.2 ErrorCode 603 (the mobilesync schema knows only 600
// and 601, [MS-ASCMD] 2.2.3.64).
func (h *handler) fail(w http.ResponseWriter, log *slog.Logger, e envelope, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	log.Error("autodiscover failed", "err", err)
	w.Header().Set("Retry-After", "30")
	h.reply(w, http.StatusServiceUnavailable, e)
}

// challenge answers 401 asking for Basic credentials ([MS-ASHTTP] 3.2.5.1 for the
// ActiveSync side; RFC 7617).
func (h *handler) challenge(w http.ResponseWriter) {
	directory.Challenge(w, h.opts.Hostname)
}

func (h *handler) reply(w http.ResponseWriter, status int, e envelope) {
	body := marshal(e)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
