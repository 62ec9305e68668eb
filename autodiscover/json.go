package autodiscover

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/directory"
)

// jsonAnswer is the Autodiscover V2 answer: the URL of one protocol's endpoint.
type jsonAnswer struct {
	Protocol string `json:"Protocol"`
	URL      string `json:"Url"`
}

// jsonError is the Autodiscover V2 error answer (sent with 400), in Exchange's shape.
type jsonError struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

const supportedProtocols = "ActiveSync,AutodiscoverV1"

// serveJSON answers GET /autodiscover/autodiscover.json/v1.0/{email}?Protocol=… and
// GET /autodiscover/autodiscover.json?Email=…&Protocol=…. It is unauthenticated and gives
// the same answer for every address, existing or not, so it tells nobody which exist.
// AutodiscoverV1 names the POX endpoint; every other protocol is InvalidProtocol.
func (h *handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	proto := queryFold(r, "Protocol")
	var ans jsonAnswer
	switch {
	case strings.EqualFold(proto, "ActiveSync"):
		ans = jsonAnswer{Protocol: "ActiveSync", URL: h.activeSyncURL()}
	case strings.EqualFold(proto, "AutodiscoverV1"):
		ans = jsonAnswer{Protocol: "AutodiscoverV1", URL: h.xmlURL()}
	default:
		h.log.Debug("json: unsupported protocol", "protocol", proto, "remote", directory.HTTPClientIP(r))
		writeJSON(w, http.StatusBadRequest, jsonError{
			ErrorCode: "InvalidProtocol",
			ErrorMessage: "The given protocol value '" + printable(proto) +
				"' is invalid. Supported values are '" + supportedProtocols + "'",
		})
		return
	}
	h.log.Debug("json", "protocol", ans.Protocol, "remote", directory.HTTPClientIP(r))
	writeJSON(w, http.StatusOK, ans)
}

// queryFold is the first value of a query parameter whose name matches key in any case.
func queryFold(r *http.Request, key string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// printable keeps the letters and digits of a client's value, at most 64 of them, so that
// echoing it back injects nothing.
func printable(s string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 64 {
			break
		}
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("autodiscover: marshal json: " + err.Error()) // only our own two types get here
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
