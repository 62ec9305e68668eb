package activesync

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"unicode"
)

// query is the request line's parameters, from either form of [MS-ASHTTP] 2.2.1.1.1.
type query struct {
	Cmd             string
	User            string
	DeviceID        string
	DeviceType      string
	Version         int    // base64 form only (the plain form uses MS-ASProtocolVersion)
	PolicyKey       uint32 // base64 form only
	HasPolicyKey    bool
	AttachmentName  string
	CollectionID    string
	ItemID          string
	LongID          string
	ParentID        string
	Occurrence      string
	SaveInSent      bool
	AcceptMultiPart bool
}

// Command codes of the base64 query, [MS-ASHTTP] 2.2.1.1.1.1.2.
var commandCodes = map[byte]string{
	0: "Sync", 1: "SendMail", 2: "SmartForward", 3: "SmartReply", 4: "GetAttachment",
	9: "FolderSync", 10: "FolderCreate", 11: "FolderDelete", 12: "FolderUpdate", 13: "MoveItems",
	14: "GetItemEstimate", 15: "MeetingResponse", 16: "Search", 17: "Settings", 18: "Ping",
	19: "ItemOperations", 20: "Provision", 21: "ResolveRecipients", 22: "ValidateCert", 23: "Find",
}

var errBadQuery = errors.New("activesync: malformed query")

// parseQuery reads the raw query string in the plain form (Cmd=…&User=…) or, when it is
// not one, the base64 form.
func parseQuery(raw string) (query, error) {
	if raw == "" {
		return query{}, errBadQuery
	}
	if strings.Contains(raw, "=") && !looksBase64Only(raw) {
		return parsePlainQuery(raw)
	}
	return parseBase64Query(raw)
}

// looksBase64Only tells a base64 query ending in '=' padding from a plain one.
func looksBase64Only(raw string) bool {
	if strings.ContainsAny(raw, "&") {
		return false
	}
	return !strings.Contains(strings.TrimRight(raw, "="), "=")
}

func parsePlainQuery(raw string) (query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, errBadQuery
	}
	q := query{
		Cmd:            v.Get("Cmd"),
		User:           v.Get("User"),
		DeviceID:       v.Get("DeviceId"),
		DeviceType:     v.Get("DeviceType"),
		AttachmentName: v.Get("AttachmentName"),
		CollectionID:   v.Get("CollectionId"),
		ItemID:         v.Get("ItemId"),
		LongID:         v.Get("LongId"),
		ParentID:       v.Get("ParentId"),
		Occurrence:     v.Get("Occurrence"),
	}
	// SaveInSent=T ([MS-ASHTTP] 2.2.1.1.1.2.5).
	q.SaveInSent = strings.EqualFold(v.Get("SaveInSent"), "T")
	return q, nil
}

// parseBase64Query decodes the base64 form, [MS-ASHTTP] 2.2.1.1.1.1: version, command,
// locale, device id, policy key, device type, then (tag, length, value) parameters.
func parseBase64Query(raw string) (query, error) {
	raw, err := url.QueryUnescape(raw)
	if err != nil {
		return query{}, errBadQuery
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "=")); err != nil {
			return query{}, errBadQuery
		}
	}
	var q query
	if len(b) < 4 {
		return q, errBadQuery
	}
	ver := int(b[0])
	if _, ok := parseVersion(versionString(ver)); !ok {
		return q, errBadQuery
	}
	q.Version = ver
	cmd, ok := commandCodes[b[1]]
	if !ok {
		return q, errBadQuery
	}
	q.Cmd = cmd
	b = b[4:] // version, command, locale (u16le)
	field := func() ([]byte, bool) {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return nil, false
		}
		v := b[1 : 1+int(b[0])]
		b = b[1+int(b[0]):]
		return v, true
	}
	dev, ok := field()
	if !ok {
		return q, errBadQuery
	}
	q.DeviceID = deviceIDString(dev)
	pk, ok := field()
	if !ok || (len(pk) != 0 && len(pk) != 4) {
		return q, errBadQuery
	}
	if len(pk) == 4 {
		q.PolicyKey, q.HasPolicyKey = binary.LittleEndian.Uint32(pk), true
	}
	typ, ok := field()
	if !ok {
		return q, errBadQuery
	}
	q.DeviceType = string(typ)
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		v, ok := field()
		if !ok {
			return q, errBadQuery
		}
		switch tag {
		case 0:
			q.AttachmentName = string(v)
		case 1:
			q.CollectionID = string(v)
		case 3:
			q.ItemID = string(v)
		case 4:
			q.LongID = string(v)
		case 5:
			q.ParentID = string(v)
		case 6:
			q.Occurrence = string(v)
		case 7:
			if len(v) > 0 {
				q.SaveInSent = v[0]&0x01 != 0
				q.AcceptMultiPart = v[0]&0x02 != 0
			}
		case 8:
			q.User = string(v)
		}
	}
	return q, nil
}

// deviceIDString renders a base64 query's binary device id: as is when it is printable
// ASCII (what most clients send), else in hex, so that one device keeps one name.
func deviceIDString(b []byte) string {
	for _, c := range b {
		if c >= unicode.MaxASCII || !unicode.IsPrint(rune(c)) || c == ' ' {
			return strings.ToUpper(hex.EncodeToString(b))
		}
	}
	return string(b)
}
