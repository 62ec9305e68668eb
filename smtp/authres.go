package smtp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"

	"github.com/gatehouse/gatehouse/message"
)

// Resolver is the DNS used for SPF, DKIM and DMARC checks (and by smtp/queue for MX
// lookups); *net.Resolver satisfies it, tests pass a map.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// authVerdict is what the inbound checks found.
type authVerdict struct {
	header      string // the Authentication-Results field, folded, with CRLF
	dmarcReject bool   // DMARC failed and the domain's policy is p=reject
}

// checkAuth runs SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) for an inbound
// message and formats the results as an Authentication-Results field (RFC 8601).
func checkAuth(ctx context.Context, r Resolver, host string, ip netip.Addr, helo, mailFrom string, hdr []byte, raw []byte) authVerdict {
	lookupTXT := func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }

	// SPF: RFC 7208 2.4, the null sender is checked as postmaster@HELO.
	sender := mailFrom
	if sender == "" {
		sender = "postmaster@" + helo
	}
	spfRes, _ := spf.CheckHostWithSender(net.IP(ip.AsSlice()), helo, sender, spf.WithResolver(r), spf.WithContext(ctx))
	results := []authres.Result{&authres.SPFResult{Value: authres.ResultValue(spfRes), From: sender, Helo: helo}}
	spfDomain := domainOf(sender)

	// DKIM: every signature gets its own result.
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookupTXT, MaxVerifications: 5})
	var dkimPass []string
	switch {
	case err != nil:
		results = append(results, &authres.DKIMResult{Value: authres.ResultPermError, Reason: "malformed message"})
	case len(verifs) == 0:
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, v := range verifs {
		val := authres.ResultValue(authres.ResultPass)
		switch {
		case v.Err == nil:
			dkimPass = append(dkimPass, strings.ToLower(v.Domain))
		case dkim.IsTempFail(v.Err):
			val = authres.ResultTempError
		case dkim.IsPermFail(v.Err):
			val = authres.ResultPermError
		default:
			val = authres.ResultFail
		}
		results = append(results, &authres.DKIMResult{Value: val, Domain: v.Domain, Identifier: v.Identifier})
	}

	// DMARC: the RFC 5322 From domain's policy, with SPF or DKIM aligned to it.
	var v authVerdict
	fromDomain := headerFromDomain(hdr)
	if fromDomain != "" {
		rec, err := dmarc.LookupWithOptions(fromDomain, &dmarc.LookupOptions{LookupTXT: lookupTXT})
		org := orgDomain(fromDomain)
		if errors.Is(err, dmarc.ErrNoPolicy) && org != fromDomain {
			// RFC 7489 6.6.3: fall back to the organizational domain.
			rec, err = dmarc.LookupWithOptions(org, &dmarc.LookupOptions{LookupTXT: lookupTXT})
		}
		switch {
		case errors.Is(err, dmarc.ErrNoPolicy):
			results = append(results, &authres.DMARCResult{Value: authres.ResultNone, From: fromDomain})
		case err != nil && dmarc.IsTempFail(err):
			results = append(results, &authres.DMARCResult{Value: authres.ResultTempError, From: fromDomain})
		case err != nil:
			results = append(results, &authres.DMARCResult{Value: authres.ResultPermError, From: fromDomain})
		default:
			pass := spfRes == spf.Pass && aligned(spfDomain, fromDomain, rec.SPFAlignment)
			for _, d := range dkimPass {
				pass = pass || aligned(d, fromDomain, rec.DKIMAlignment)
			}
			if pass {
				results = append(results, &authres.DMARCResult{Value: authres.ResultPass, From: fromDomain})
			} else {
				policy := rec.Policy
				if fromDomain != org && rec.SubdomainPolicy != "" {
					policy = rec.SubdomainPolicy
				}
				v.dmarcReject = policy == dmarc.PolicyReject
				results = append(results, &authres.DMARCResult{Value: authres.ResultFail, From: fromDomain,
					Reason: "policy " + string(policy)})
			}
		}
	}
	v.header = foldHeader("Authentication-Results", authres.Format(host, results))
	return v
}

// headerFromDomain returns the domain of the single From mailbox ("" if none or many:
// RFC 7489 6.6.1 leaves those to local policy, and we then skip DMARC).
func headerFromDomain(hdr []byte) string {
	p := message.Parse(append(bytes.Clone(hdr), "\r\n"...))
	from := message.Mailboxes(p.Envelope.From)
	if len(from) != 1 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(from[0].Host), ".")
}

// orgDomain approximates the organizational domain (RFC 7489 3.2) as the last two
// labels; without the public suffix list a name under e.g. co.uk falls back too far,
// which only ever makes us find no policy.
func orgDomain(d string) string {
	labels := strings.Split(d, ".")
	if len(labels) <= 2 {
		return d
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// aligned is DMARC identifier alignment (RFC 7489 3.1).
func aligned(id, from string, mode dmarc.AlignmentMode) bool {
	id, from = strings.ToLower(id), strings.ToLower(from)
	if mode == dmarc.AlignmentStrict {
		return id == from
	}
	return id != "" && orgDomain(id) == orgDomain(from)
}
