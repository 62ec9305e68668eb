package autodiscover

import (
	"encoding/xml"
	"math/rand/v2"
	"time"
)

// envelope is the Autodiscover element every POX response starts with; exactly one of its
// fields is set (the choice of AutodiscoverResponse.xsd).
type envelope struct {
	XMLName xml.Name         `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Mobile  *mobileResponse  `xml:",omitempty"`
	Outlook *outlookResponse `xml:",omitempty"`
	Error   *errorResponse   `xml:",omitempty"`
}

// mobileResponse is [MS-ASCMD] 2.2.3.153.1 Response in the mobilesync response schema.
type mobileResponse struct {
	XMLName xml.Name      `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Response"`
	Culture string        `xml:"Culture"` // [MS-ASCMD] 2.2.3.38
	User    *mobileUser   `xml:"User,omitempty"`
	Action  *mobileAction `xml:"Action,omitempty"`
}

// mobileUser is [MS-ASCMD] 2.2.3.189 User.
type mobileUser struct {
	DisplayName  string `xml:"DisplayName,omitempty"`
	EMailAddress string `xml:"EMailAddress"`
}

// mobileAction is [MS-ASCMD] 2.2.3.6 Action with its Settings (2.2.3.162).
type mobileAction struct {
	Servers []mobileServer `xml:"Settings>Server"`
}

// mobileServer is [MS-ASCMD] 2.2.3.164 Server: Type (2.2.3.186.1), Url (2.2.3.188) and
// Name (2.2.3.120.1), which for MobileSync is the URL again.
type mobileServer struct {
	Type string `xml:"Type"`
	URL  string `xml:"Url"`
	Name string `xml:"Name"`
}

// errorResponse is the Response of the Autodiscover framework itself
// (AutodiscoverResponse.xsd; the example of [MS-ASCMD] 4.2.3): ErrorCode 600 or 601.
type errorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Error   adError  `xml:"Error"`
}

// adError is an Error element: [MS-ASCMD] 2.2.3.63, [MS-OXDSCLI] 2.2.4.1.1.3.
type adError struct {
	Time      string `xml:"Time,attr"`
	ID        uint32 `xml:"Id,attr"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// Error codes: [MS-ASCMD] 2.2.3.64 (600, 601); [MS-OXDSCLI] 2.2.4.1.1.3.2 (500).
const (
	codeNotFound       = 500
	codeInvalidRequest = 600
	codeNoProvider     = 601
	codeInternal       = 603
)

var codeMessages = map[int]string{
	codeNotFound:       "The email address cannot be found.",
	codeInvalidRequest: "Invalid Request",
	codeNoProvider:     "The requested schema version is not supported",
	codeInternal:       "Internal error",
}

func newError(code int, debug string) adError {
	return adError{
		Time:      time.Now().UTC().Format("15:04:05.0000000"),
		ID:        rand.Uint32(),
		ErrorCode: code,
		Message:   codeMessages[code],
		DebugData: debug,
	}
}

// outlookResponse is the Response of the outlook response schema ([MS-OXDSCLI] 2.2.4.1.1).
type outlookResponse struct {
	XMLName xml.Name        `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	User    *outlookUser    `xml:"User,omitempty"`
	Account *outlookAccount `xml:"Account,omitempty"`
	Error   *adError        `xml:"Error,omitempty"`
}

// outlookUser is [MS-OXDSCLI] 2.2.4.1.1.1 User.
type outlookUser struct {
	DisplayName             string `xml:"DisplayName,omitempty"`
	AutoDiscoverSMTPAddress string `xml:"AutoDiscoverSMTPAddress"`
}

// outlookAccount is [MS-OXDSCLI] 2.2.4.1.1.2 Account: AccountType "email", Action
// "settings" and one Protocol per way in. No EXCH or EXPR protocol: Gatehouse speaks
// neither RPC nor RPC over HTTP.
type outlookAccount struct {
	AccountType string            `xml:"AccountType"`
	Action      string            `xml:"Action"`
	Protocols   []outlookProtocol `xml:"Protocol"`
}

// outlookProtocol is [MS-OXDSCLI] 2.2.4.1.1.2.4 Protocol, with only the child elements a
// non-Exchange account needs, in the schema's order.
type outlookProtocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port,omitempty"`
	LoginName      string `xml:"LoginName,omitempty"`
	DomainRequired string `xml:"DomainRequired,omitempty"`
	SPA            string `xml:"SPA,omitempty"`
	SSL            string `xml:"SSL,omitempty"`
	AuthRequired   string `xml:"AuthRequired,omitempty"`
	UsePOPAuth     string `xml:"UsePOPAuth,omitempty"`
}

// culture is the Culture element's value ([MS-ASCMD] 2.2.3.38), in Exchange's spelling.
const culture = "en:us"

// marshal renders a response document with its XML declaration.
func marshal(e envelope) []byte {
	out, err := xml.Marshal(e)
	if err != nil {
		// Only programming errors (a type encoding/xml cannot render) get here.
		panic("autodiscover: marshal response: " + err.Error())
	}
	return append([]byte(xml.Header), out...)
}

func (h *handler) mobileSettings(displayName, email string) envelope {
	u := h.activeSyncURL()
	return envelope{Mobile: &mobileResponse{
		Culture: culture,
		User:    &mobileUser{DisplayName: displayName, EMailAddress: email},
		Action:  &mobileAction{Servers: []mobileServer{{Type: "MobileSync", URL: u, Name: u}}},
	}}
}

func (h *handler) outlookSettings(displayName, email string) envelope {
	protos := []outlookProtocol{{
		// Outlook's Exchange ActiveSync accounts read the URL from a MobileSync protocol.
		Type: "MobileSync", Server: h.activeSyncURL(), LoginName: email,
		SSL: "on", AuthRequired: "on",
	}}
	if h.opts.IMAPPort != 0 {
		protos = append(protos, outlookProtocol{
			Type: "IMAP", Server: h.opts.Hostname, Port: h.opts.IMAPPort, LoginName: email,
			DomainRequired: "off", SPA: "off", SSL: "on", AuthRequired: "on",
		})
	}
	if h.opts.SMTPPort != 0 {
		protos = append(protos, outlookProtocol{
			Type: "SMTP", Server: h.opts.Hostname, Port: h.opts.SMTPPort, LoginName: email,
			DomainRequired: "off", SPA: "off", SSL: "on", AuthRequired: "on", UsePOPAuth: "on",
		})
	}
	return envelope{Outlook: &outlookResponse{
		User:    &outlookUser{DisplayName: displayName, AutoDiscoverSMTPAddress: email},
		Account: &outlookAccount{AccountType: "email", Action: "settings", Protocols: protos},
	}}
}

// errorEnvelope is an Error answer in the schema the client reads.
func errorEnvelope(s schema, code int, debug string) envelope {
	e := newError(code, debug)
	if s == schemaOutlook {
		return envelope{Outlook: &outlookResponse{Error: &e}}
	}
	return envelope{Error: &errorResponse{Error: e}}
}

// internalError is the Error answer for a failure of the server itself: [MS-OXDSCLI]
// 2.2.4.1.1.3.2 ErrorCode 603 in the outlook schema; the mobilesync schema knows only 600
// and 601 ([MS-ASCMD] 2.2.3.64).
func internalError(s schema) envelope {
	if s == schemaOutlook {
		return errorEnvelope(s, codeInternal, "internal error")
	}
	return errorEnvelope(s, codeInvalidRequest, "internal error")
}
