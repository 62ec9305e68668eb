package autodiscover

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the POX Autodiscover requests and responses ([MS-ASCMD] 2.2.1.1,
// [MS-OXDSCLI] 2.2.3 and 2.2.4).
const (
	nsResponse       = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsMobileRequest  = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
	nsMobileResponse = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	nsOutlookRequest = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	// Outlook asks for the "2006a" revision of its response schema ([MS-OXDSCLI] 2.2.3.1.1.1).
	nsOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// errInvalidRequest is a body that is not an Autodiscover request: [MS-ASCMD] 2.2.3.64
// ErrorCode 600.
var errInvalidRequest = errors.New("invalid autodiscover request")

// request is what an Autodiscover request body says.
type request struct {
	// Namespace is the namespace of the Request element (the request schema).
	Namespace string
	// Email is the EMailAddress element, trimmed; empty when absent.
	Email string
	// AcceptableResponseSchema, trimmed; empty when absent.
	AcceptableResponseSchema string
}

// schema is the response schema a request is answered in.
type schema int

const (
	schemaMobileSync schema = iota
	schemaOutlook
	schemaUnknown // [MS-ASCMD] 2.2.3.64 ErrorCode 601
)

// responseSchema picks the response schema: the one asked for by
// AcceptableResponseSchema ([MS-ASCMD] 2.2.3.1), or when that is absent the one that goes
// with the request's namespace.
func (q request) responseSchema() schema {
	switch a := q.AcceptableResponseSchema; {
	case strings.EqualFold(a, nsMobileResponse):
		return schemaMobileSync
	case strings.EqualFold(a, nsOutlookResponse):
		return schemaOutlook
	case a != "":
		return schemaUnknown
	case strings.EqualFold(q.Namespace, nsOutlookRequest):
		return schemaOutlook
	default:
		return schemaMobileSync
	}
}

// parseRequest reads an Autodiscover request. The decoder is strict and expands no
// entities but the five predefined ones (encoding/xml has no DTD processing), so external
// entities and entity expansion bombs are rejected as malformed; the caller bounds the size.
// Every failure wraps errInvalidRequest.
func parseRequest(body []byte) (request, error) {
	var q request
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// Only UTF-8 (or its ASCII subset) is accepted; a declared other charset fails here.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("charset %q not supported", label)
	}
	var (
		depth    int
		requests int
		field    *string // the element under Request whose text is being read
		sawRoot  bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return request{}, fmt.Errorf("%w: %v", errInvalidRequest, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if sawRoot {
					return request{}, fmt.Errorf("%w: more than one root element", errInvalidRequest)
				}
				sawRoot = true
				if t.Name.Local != "Autodiscover" {
					return request{}, fmt.Errorf("%w: root element %q", errInvalidRequest, t.Name.Local)
				}
			case 2:
				if t.Name.Local == "Request" {
					requests++
					q.Namespace = t.Name.Space
				}
			case 3:
				field = nil
				if requests == 1 {
					switch t.Name.Local {
					case "EMailAddress":
						field = &q.Email
					case "AcceptableResponseSchema":
						field = &q.AcceptableResponseSchema
					}
				}
			}
		case xml.EndElement:
			if depth == 3 {
				field = nil
			}
			depth--
		case xml.CharData:
			if depth == 3 && field != nil {
				*field += string(t)
			}
		case xml.Directive:
			// A DOCTYPE is legal XML but no Autodiscover client sends one; refusing it
			// keeps entity declarations out altogether.
			return request{}, fmt.Errorf("%w: directive not allowed", errInvalidRequest)
		}
	}
	switch {
	case !sawRoot:
		return request{}, fmt.Errorf("%w: no root element", errInvalidRequest)
	case requests == 0:
		return request{}, fmt.Errorf("%w: no Request element", errInvalidRequest)
	case requests > 1:
		// [MS-ASCMD] 2.2.3.150.1: more than one Request is answered with ErrorCode 600.
		return request{}, fmt.Errorf("%w: %d Request elements", errInvalidRequest, requests)
	}
	q.Email = strings.TrimSpace(q.Email)
	q.AcceptableResponseSchema = strings.TrimSpace(q.AcceptableResponseSchema)
	return q, nil
}
