package queue

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/gatehouse/gatehouse/store"
)

// EnsureDKIMKey returns a domain's DKIM key, generating and storing an RSA-2048 key
// (RFC 8301 3.2) on first use. `gatehouse domain add` calls it and prints DKIMRecord.
func EnsureDKIMKey(ctx context.Context, st *store.Store, domain string) (store.DKIMKey, error) {
	k, err := st.DKIMKeyFor(ctx, domain)
	if !errors.Is(err, store.ErrNotFound) {
		return k, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return k, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return k, err
	}
	k = store.DKIMKey{Domain: domain, Selector: "gh" + time.Now().UTC().Format("200601"), PrivateKey: der}
	if err := st.AddDKIMKey(ctx, k); err != nil && !errors.Is(err, store.ErrExists) {
		return k, err
	}
	// Re-read: a concurrent caller may have won.
	return st.DKIMKeyFor(ctx, domain)
}

// DKIMRecord returns the DNS TXT record to publish for a key (RFC 6376 3.6.1): its
// name and its value.
func DKIMRecord(k store.DKIMKey) (name, value string, err error) {
	signer, err := parseKey(k.PrivateKey)
	if err != nil {
		return "", "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return "", "", err
	}
	return k.Selector + "._domainkey." + k.Domain, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub), nil
}

func parseKey(der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim key: %T is not a signer", key)
	}
	return s, nil
}

// signedHeaders are RFC 6376 5.4.1's recommended fields.
var signedHeaders = []string{"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From",
	"Resent-To", "Resent-Cc", "In-Reply-To", "References", "Message-ID", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding"}

// keySigner is a domain's parsed DKIM key.
type keySigner struct {
	domain, selector string
	signer           crypto.Signer
}

// sign prepends a DKIM-Signature made with the domain's key.
func (ks *keySigner) sign(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: ks.domain, Selector: ks.selector, Signer: ks.signer, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: signedHeaders,
	})
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
