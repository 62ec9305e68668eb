package activesync

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// Provision ([MS-ASCMD] 2.2.1.14, [MS-ASPROV] 3.2.5.1) hands out the policy in two
// phases and carries remote wipe:
//
//   - phase 1, the client asks for the policy: we answer the EASProvisionDoc with a
//     temporary policy key, kept as store.Device.PendingPolicyKey;
//   - phase 2, the client acknowledges that key: we answer the final key, which the
//     provisioning gate (handler.go) then requires of every other command;
//   - with a wipe pending (store.WipeRequested / WipeAccountOnly), any Provision is
//     answered with the wipe directive, and the client's acknowledgement marks the
//     device store.WipeDone.
//
// At 14.1+ a Provision may carry Settings:DeviceInformation, stored like Settings's.

// policyTypeWBXML is the only policy format of protocol 12.0 and later ([MS-ASPROV]
// 2.2.2.42); MS-WAP-Provisioning-XML belongs to 2.5, which we do not speak.
const policyTypeWBXML = "MS-EAS-Provisioning-WBXML"

// Status (Provision) ([MS-ASPROV] 2.2.2.54.2, 3.1.5.2).
const (
	provisionOK            = 1
	provisionProtocolError = 2
	provisionCannotComply  = 139 // the client did not fully apply a demanding policy
)

// Status (Policy) ([MS-ASPROV] 2.2.2.54.1).
const (
	policyOK            = 1
	policyNone          = 2 // there is no policy for this client
	policyUnknownType   = 3
	policyWrongKey      = 5 // the client acknowledges a key we did not give it
	policyClientApplied = "1"
)

// Status (RemoteWipe) of a client's acknowledgement ([MS-ASPROV] 2.2.2.54.3).
const wipeAckSuccess = "1"

// provisionRequest is a parsed Provision request.
type provisionRequest struct {
	deviceInfo    *deviceInformation
	deviceInfoBad bool // a DeviceInformation we could not read: Status 2 for it alone

	// policy: phase 1 (no key) or phase 2 (key and Status).
	hasPolicy    bool
	policyType   string
	ackKey       uint32
	ack          bool   // a PolicyKey and a Status: the phase 2 acknowledgement
	ackStatus    string // the client's Policy Status ("1" applied)
	badPolicyKey bool   // a PolicyKey that is not a uint32

	// A remote wipe acknowledgement ([MS-ASPROV] 3.1.5.1.2.2, 3.1.5.1.2.3).
	wipeAck            bool
	accountOnlyWipeAck bool
	wipeAckStatus      string
}

var errBadProvision = errors.New("activesync: malformed Provision request")

// parseProvision reads a Provision request ([MS-ASPROV] 2.2.2.44).
func parseProvision(body *wbxml.Node) (provisionRequest, error) {
	var pr provisionRequest
	if body == nil || !body.Is("Provision:Provision") {
		return pr, errBadProvision
	}
	if di := body.Child("Settings:DeviceInformation"); di != nil {
		if info, err := parseDeviceInformation(di); err != nil {
			pr.deviceInfoBad = true
		} else {
			pr.deviceInfo = &info
		}
	}
	if w := body.Child("Provision:RemoteWipe"); w != nil {
		pr.wipeAck, pr.wipeAckStatus = true, w.ChildText("Provision:Status")
	}
	if w := body.Child("Provision:AccountOnlyRemoteWipe"); w != nil {
		pr.accountOnlyWipeAck, pr.wipeAckStatus = true, w.ChildText("Provision:Status")
	}
	if (pr.wipeAck || pr.accountOnlyWipeAck) && pr.wipeAckStatus == "" {
		return pr, errBadProvision
	}
	if pol := body.Path("Provision:Policies", "Provision:Policy"); pol != nil {
		pr.hasPolicy = true
		pr.policyType = pol.ChildText("Provision:PolicyType")
		if pol.Has("Provision:PolicyKey") && pol.Has("Provision:Status") {
			pr.ack, pr.ackStatus = true, pol.ChildText("Provision:Status")
			k, err := strconv.ParseUint(pol.ChildText("Provision:PolicyKey"), 10, 32)
			if err != nil {
				pr.badPolicyKey = true
			}
			pr.ackKey = uint32(k)
		}
	} else if body.Has("Provision:Policies") {
		return pr, errBadProvision
	}
	if !pr.hasPolicy && !pr.wipeAck && !pr.accountOnlyWipeAck {
		return pr, errBadProvision
	}
	return pr, nil
}

// provisionOutcome is what a Provision request decided, to be rendered.
type provisionOutcome struct {
	status int
	wipe   string // "", "RemoteWipe" or "AccountOnlyRemoteWipe": the directive to send
	policy *policyOutcome
}

type policyOutcome struct {
	policyType string
	status     int
	key        uint32 // 0: none in the answer
	doc        bool   // send the EASProvisionDoc (phase 1)
}

// provisionKeys are fresh random keys drawn before the store mutation, so that the
// mutation's function does no I/O.
type provisionKeys struct{ temporary, final uint32 }

// decideProvision applies a request to the device as stored (inside UpdateDevice) and
// says what to answer. It is where the rules of [MS-ASPROV] 3.2.5.1 live.
func decideProvision(d *store.Device, pr provisionRequest, pol Policy, version int, keys provisionKeys) provisionOutcome {
	out := provisionOutcome{status: provisionOK}
	wipePending := d.Wipe == store.WipeRequested || d.Wipe == store.WipeAccountOnly

	// An acknowledgement of the wipe directive ([MS-ASPROV] 3.2.5.1.2.2): success marks the
	// wipe done and forgets the device's policy key, so that the phone (or the account,
	// added again) provisions afresh; failure is answered with Status 2 and the directive.
	if (pr.wipeAck || pr.accountOnlyWipeAck) && wipePending {
		if pr.wipeAckStatus == wipeAckSuccess {
			d.Wipe = store.WipeDone
			d.PolicyKey, d.PendingPolicyKey = 0, 0
			return out
		}
		out.status = provisionProtocolError
		out.wipe = wipeDirective(d.Wipe)
		return out
	}
	if wipePending {
		// [MS-ASPROV] 3.2.5.1.2.1: any Provision of a device to be wiped gets the directive.
		if d.Wipe == store.WipeAccountOnly && version < v161 {
			// AccountOnlyRemoteWipe exists only at 16.1 ([MS-ASPROV] 2.2.2.1). The device
			// came back speaking an older version: we never turn the request into a full
			// wipe of someone's phone. It gets no policy ("no policy for this client")
			// and so stays locked out until an administrator decides.
			out.policy = &policyOutcome{policyType: policyTypeOrDefault(pr.policyType), status: policyNone}
			return out
		}
		out.wipe = wipeDirective(d.Wipe)
		return out
	}
	if !pr.hasPolicy {
		// A wipe acknowledgement with no wipe pending: nothing to do.
		return out
	}
	res := &policyOutcome{policyType: pr.policyType}
	out.policy = res
	switch {
	case pr.policyType != policyTypeWBXML:
		res.status = policyUnknownType
	case !pr.ack:
		// Phase 1 ([MS-ASPROV] 3.2.5.1.1): a temporary key. The device's current key, if
		// any, stays valid until the new one is acknowledged.
		res.status, res.key, res.doc = policyOK, keys.temporary, true
		d.PendingPolicyKey = keys.temporary
	case pr.badPolicyKey || d.PendingPolicyKey == 0 || pr.ackKey != d.PendingPolicyKey:
		res.status = policyWrongKey
	case pr.ackStatus != policyClientApplied && pol.requiresSomething():
		// [MS-ASPROV] 3.1.5.2: the client could not (or would not) apply a policy that
		// asks something of it. The empty policy is satisfied by any answer.
		out.status, out.policy = provisionCannotComply, nil
		d.PendingPolicyKey = 0
	default:
		// Phase 2 ([MS-ASPROV] 3.2.5.1.2): the final key.
		res.status, res.key = policyOK, keys.final
		d.PolicyKey, d.PendingPolicyKey = keys.final, 0
	}
	return out
}

func wipeDirective(wipe int) string {
	if wipe == store.WipeAccountOnly {
		return "AccountOnlyRemoteWipe"
	}
	return "RemoteWipe"
}

func policyTypeOrDefault(t string) string {
	if t == "" {
		return policyTypeWBXML
	}
	return t
}

// newPolicyKey draws a random non-zero key different from avoid (0 is "no key").
func newPolicyKey(avoid ...uint32) uint32 {
	var b [4]byte
	for {
		rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		k := binary.BigEndian.Uint32(b[:])
		ok := k != 0
		for _, a := range avoid {
			ok = ok && k != a
		}
		if ok {
			return k
		}
	}
}

func (h *Handler) cmdProvision(rq *request) (*response, error) {
	pr, err := parseProvision(rq.body)
	if err != nil {
		rq.log.Info("provision: malformed request", "err", err)
		return &response{body: wbxml.NewElem("Provision", "Provision", statusNode("Provision", provisionProtocolError))}, nil
	}
	temporary := newPolicyKey(rq.dev.PolicyKey, rq.dev.PendingPolicyKey)
	keys := provisionKeys{temporary: temporary, final: newPolicyKey(temporary, rq.dev.PolicyKey, rq.dev.PendingPolicyKey)}
	var out provisionOutcome
	before := rq.dev
	dev, err := h.st.UpdateDevice(rq.ctx, rq.p, rq.dev.DeviceID, func(d *store.Device) error {
		if pr.deviceInfo != nil {
			d.Info = pr.deviceInfo.encode()
		}
		out = decideProvision(d, pr, h.opts.Policy, rq.version, keys)
		if out.policy != nil && out.policy.key != 0 && !out.policy.doc {
			// The final key is for this policy: a changed policy asks the device to
			// provision again (Status 143).
			return setPolicyFingerprint(d, h.policyPrint)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rq.dev = dev
	switch {
	case before.Wipe != dev.Wipe:
		rq.log.Warn("remote wipe acknowledged", "device_type", dev.DeviceType)
	case out.wipe != "":
		rq.log.Warn("remote wipe directive sent", "directive", out.wipe)
	case out.policy != nil && out.policy.status == policyNone:
		rq.log.Warn("account-only wipe pending for a device before 16.1: refused provisioning", "version", versionString(rq.version))
	case out.policy != nil && out.policy.key != 0 && !out.policy.doc:
		rq.log.Info("device provisioned")
	case out.policy != nil && out.policy.status != policyOK:
		rq.log.Info("provision refused", "policy_status", out.policy.status)
	case out.status != provisionOK:
		rq.log.Info("provision refused", "status", out.status)
	}
	return &response{body: h.provisionResponse(rq, pr, out)}, nil
}

// provisionResponse renders the answer in the order of ProvisionResponse.xsd.
func (h *Handler) provisionResponse(rq *request, pr provisionRequest, out provisionOutcome) *wbxml.Node {
	const ns = "Provision"
	root := wbxml.NewElem(ns, "Provision")
	if (pr.deviceInfo != nil || pr.deviceInfoBad) && rq.version >= v141 {
		// Settings:DeviceInformation in Provision, 14.1+ ([MS-ASCMD] 2.2.3.45; its Status
		// as in Settings, 2.2.3.177.15: 1 success, 2 protocol error).
		st := settingsOK
		if pr.deviceInfoBad {
			st = settingsProtocolError
		}
		root.Add(wbxml.NewElem("Settings", "DeviceInformation", statusNode("Settings", st)))
	}
	root.Add(statusNode(ns, out.status))
	if p := out.policy; p != nil {
		pn := wbxml.NewElem(ns, "Policy", wbxml.NewText(ns, "PolicyType", p.policyType), statusNode(ns, p.status))
		if p.key != 0 {
			pn.Add(wbxml.NewText(ns, "PolicyKey", strconv.FormatUint(uint64(p.key), 10)))
		}
		if p.doc {
			pn.Add(wbxml.NewElem(ns, "Data", h.opts.Policy.provisionDoc()))
		}
		root.Add(wbxml.NewElem(ns, "Policies", pn))
	}
	if out.wipe != "" {
		root.Add(wbxml.NewElem(ns, out.wipe))
	}
	return root
}
