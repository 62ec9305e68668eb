package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NormalizeDomain lower-cases a domain and strips one trailing dot.
func NormalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// SplitAddress splits local@domain, normalising the domain. The local part keeps its
// case (RFC 5321 2.4) but lookups compare it case-insensitively, as every mail server does.
func SplitAddress(addr string) (local, domain string, err error) {
	addr = strings.TrimSpace(addr)
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q is not an address", ErrInvalid, addr)
	}
	local, domain = addr[:i], NormalizeDomain(addr[i+1:])
	if strings.ContainsAny(local, " \t\r\n\"<>()[]\\,;:@") || !ValidDomain(domain) {
		return "", "", fmt.Errorf("%w: %q is not an address", ErrInvalid, addr)
	}
	return local, domain, nil
}

// ValidDomain reports whether d is a lower-case DNS name: labels of letters, digits and
// hyphens (U-labels allowed, for SMTPUTF8), no empty label, at most 253 octets.
func ValidDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r > 127) {
				return false
			}
		}
	}
	return true
}

// AddDomain starts hosting a domain.
func (s *Store) AddDomain(ctx context.Context, name string) (Domain, error) {
	name = NormalizeDomain(name)
	if !ValidDomain(name) {
		return Domain{}, fmt.Errorf("%w: %q is not a domain name", ErrInvalid, name)
	}
	d := Domain{Name: name, Created: s.now().Truncate(time.Second)}
	err := s.write(ctx, func(t *tx) error {
		err := t.queryRow("INSERT INTO domain(name, created) VALUES(?, ?) ON CONFLICT DO NOTHING RETURNING id",
			name, d.Created.Unix()).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("domain %s: %w", name, ErrExists)
		}
		return err
	})
	return d, err
}

// Domains lists the hosted domains by name.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT id, name, created FROM domain ORDER BY name")
	return collect(rows, err, func(sc scanner) (Domain, error) {
		var d Domain
		var created int64
		err := sc.Scan(&d.ID, &d.Name, &created)
		d.Created = time.Unix(created, 0)
		return d, err
	})
}

// DomainByName finds a hosted domain.
func (s *Store) DomainByName(ctx context.Context, name string) (Domain, error) {
	var d Domain
	var created int64
	err := s.rq.QueryRowContext(ctx, "SELECT id, name, created FROM domain WHERE name = ?", NormalizeDomain(name)).
		Scan(&d.ID, &d.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("domain %s: %w", name, ErrNotFound)
	}
	d.Created = time.Unix(created, 0)
	return d, err
}

// DeleteDomain stops hosting a domain. It refuses while accounts or aliases use it,
// so that no mailbox is destroyed by a typo.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	name = NormalizeDomain(name)
	return s.write(ctx, func(t *tx) error {
		var id int64
		if err := t.queryRow("SELECT id FROM domain WHERE name = ?", name).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("domain %s: %w", name, ErrNotFound)
			}
			return err
		}
		var n int64
		if err := t.queryRow("SELECT (SELECT count(*) FROM account WHERE domain_id = ?) + (SELECT count(*) FROM alias WHERE domain_id = ?)", id, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: domain %s still has %d accounts or aliases", ErrInvalid, name, n)
		}
		_, err := t.exec("DELETE FROM domain WHERE id = ?", id)
		return err
	})
}

const accountCols = `id, domain_id, email, password_hash, display_name, given_name, surname, title,
department, company, office, phone, mobile, street, city, postal_code, country, photo, hidden_from_gal,
disabled, modseq, pruned_modseq, sync_epoch, usage_bytes, usage_items, quota_bytes, created`

func scanAccount(sc scanner) (Account, error) {
	var a Account
	var created int64
	err := sc.Scan(&a.ID, &a.DomainID, &a.Email, &a.PasswordHash, &a.DisplayName, &a.GivenName, &a.Surname,
		&a.Title, &a.Department, &a.Company, &a.Office, &a.Phone, &a.Mobile, &a.Street, &a.City,
		&a.PostalCode, &a.Country, &a.Photo, &a.HiddenFromGAL, &a.Disabled, &a.Modseq, &a.PrunedModseq,
		&a.SyncEpoch, &a.UsageBytes, &a.UsageItems, &a.QuotaBytes, &created)
	a.Created = time.Unix(created, 0)
	return a, err
}

// CreateAccount creates an account in a hosted domain with its default folders, in one
// mutation. An address already used by an account or an alias is ErrExists.
func (s *Store) CreateAccount(ctx context.Context, na NewAccount) (Account, error) {
	local, domain, err := SplitAddress(na.Email)
	if err != nil {
		return Account{}, err
	}
	email := local + "@" + domain
	var id int64
	err = s.write(ctx, func(t *tx) error {
		domainID, err := t.newAddress(domain, email)
		if err != nil {
			return err
		}
		now := s.now().Unix()
		a := na.Attributes
		err = t.queryRow(`INSERT INTO account(domain_id, email, password_hash, display_name, given_name, surname,
title, department, company, office, phone, mobile, street, city, postal_code, country, photo, hidden_from_gal,
quota_bytes, next_uidvalidity, created) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			domainID, email, na.PasswordHash, a.DisplayName, a.GivenName, a.Surname, a.Title, a.Department,
			a.Company, a.Office, a.Phone, a.Mobile, a.Street, a.City, a.PostalCode, a.Country, a.Photo,
			a.HiddenFromGAL, na.QuotaBytes, uint32(now), now).Scan(&id)
		if err != nil {
			return err
		}
		for _, f := range DefaultFolders {
			if _, err := t.createFolder(id, 0, f.Name, f.Class, f.Role); err != nil {
				return err
			}
		}
		t.directoryChanged(id)
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return s.Account(ctx, id)
}

// newAddress checks that an address can be given out: its domain is hosted here (its
// id is returned) and no account, alias or group has it.
func (t *tx) newAddress(domain, email string) (domainID int64, err error) {
	if err := t.queryRow("SELECT id FROM domain WHERE name = ?", domain).Scan(&domainID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: domain %s is not hosted here", ErrNotFound, domain)
		}
		return 0, err
	}
	return domainID, t.addressFree(email)
}

// addressFree fails with ErrExists when an account, alias or group already has the address.
func (t *tx) addressFree(email string) error {
	var n int
	if err := t.queryRow("SELECT (SELECT count(*) FROM account WHERE email = ?) + (SELECT count(*) FROM alias WHERE email = ?)",
		email, email).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("address %s: %w", email, ErrExists)
	}
	// A distribution group's address is taken too (groups.go).
	if g, err := t.groupID(email); err != nil {
		return err
	} else if g != 0 {
		return fmt.Errorf("address %s is a group: %w", email, ErrExists)
	}
	return nil
}

// Account reads an account by id.
func (s *Store) Account(ctx context.Context, id int64) (Account, error) {
	a, err := scanAccount(s.rq.QueryRowContext(ctx, "SELECT "+accountCols+" FROM account WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %d: %w", id, ErrNotFound)
	}
	return a, err
}

// AccountByEmail reads an account by its own address (not an alias; see ResolveAddress).
func (s *Store) AccountByEmail(ctx context.Context, email string) (Account, error) {
	local, domain, err := SplitAddress(email)
	if err != nil {
		return Account{}, fmt.Errorf("account %s: %w", email, ErrNotFound)
	}
	a, err := scanAccount(s.rq.QueryRowContext(ctx, "SELECT "+accountCols+" FROM account WHERE email = ?", local+"@"+domain))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %s: %w", email, ErrNotFound)
	}
	return a, err
}

// ResolveAddress returns the account that receives mail for an address: an account's
// own address or one of its aliases.
func (s *Store) ResolveAddress(ctx context.Context, addr string) (int64, error) {
	local, domain, err := SplitAddress(addr)
	if err != nil {
		return 0, fmt.Errorf("address %s: %w", addr, ErrNotFound)
	}
	email := local + "@" + domain
	var id int64
	err = s.rq.QueryRowContext(ctx,
		"SELECT id FROM account WHERE email = ? UNION ALL SELECT account_id FROM alias WHERE email = ? LIMIT 1",
		email, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("address %s: %w", addr, ErrNotFound)
	}
	return id, err
}

// Accounts lists every account by address.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT "+accountCols+" FROM account ORDER BY email")
	return collect(rows, err, scanAccount)
}

// SetPasswordHash replaces an account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.write(ctx, func(t *tx) error {
		return t.expectOne(t.exec("UPDATE account SET password_hash = ? WHERE id = ?", hash, id))
	})
}

// SetAttributes replaces an account's address-book attributes.
func (s *Store) SetAttributes(ctx context.Context, id int64, a Attributes) error {
	return s.write(ctx, func(t *tx) error {
		if err := t.expectOne(t.exec(`UPDATE account SET display_name=?, given_name=?, surname=?, title=?, department=?,
company=?, office=?, phone=?, mobile=?, street=?, city=?, postal_code=?, country=?, photo=?, hidden_from_gal=? WHERE id = ?`,
			a.DisplayName, a.GivenName, a.Surname, a.Title, a.Department, a.Company, a.Office, a.Phone, a.Mobile,
			a.Street, a.City, a.PostalCode, a.Country, a.Photo, a.HiddenFromGAL, id)); err != nil {
			return err
		}
		t.directoryChanged(id)
		return nil
	})
}

// SetQuota sets an account's quota in bytes (0: unlimited).
func (s *Store) SetQuota(ctx context.Context, id int64, quotaBytes int64) error {
	return s.write(ctx, func(t *tx) error {
		return t.expectOne(t.exec("UPDATE account SET quota_bytes = ? WHERE id = ?", quotaBytes, id))
	})
}

// directoryChanged queues a hint that the address book changed (account 0: a domain).
func (t *tx) directoryChanged(account int64) {
	t.changes = append(t.changes, Change{AccountID: account, Kind: ChangeDirectory, Origin: t.origin})
}

func (t *tx) expectOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// deleteChunk bounds the rows one mutation of a long deletion touches (§2 invariant 1:
// bulk work is cut into chunks).
const deleteChunk = 500

// DeleteAccount removes an account and all its data: items (releasing their blobs),
// tombstones, properties, folders and aliases. Big mailboxes are removed in chunks so
// the writer is never held for long.
func (s *Store) DeleteAccount(ctx context.Context, id int64) error {
	if _, err := s.Account(ctx, id); err != nil {
		return err
	}
	for {
		var more bool
		err := s.write(ctx, func(t *tx) error {
			rows, err := t.query("SELECT id, blob_hash FROM item WHERE account_id = ? LIMIT ?", id, deleteChunk)
			if err != nil {
				return err
			}
			type victim struct {
				id   int64
				hash sql.NullString
			}
			var vs []victim
			for rows.Next() {
				var v victim
				if err := rows.Scan(&v.id, &v.hash); err != nil {
					rows.Close()
					return err
				}
				vs = append(vs, v)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			more = len(vs) == deleteChunk
			for _, v := range vs {
				if v.hash.Valid {
					if err := t.blobUnref(v.hash.String); err != nil {
						return err
					}
				}
				if _, err := t.exec("DELETE FROM item_fts WHERE rowid = ?", v.id); err != nil {
					return err
				}
				if _, err := t.exec("DELETE FROM item WHERE id = ?", v.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return s.write(ctx, func(t *tx) error {
		for _, q := range []string{
			"DELETE FROM item_prop WHERE account_id = ?",
			"DELETE FROM tombstone WHERE account_id = ?",
			"DELETE FROM folder WHERE account_id = ?",
			"DELETE FROM alias WHERE account_id = ?",
		} {
			if _, err := t.exec(q, id); err != nil {
				return err
			}
		}
		if err := t.expectOne(t.exec("DELETE FROM account WHERE id = ?", id)); err != nil {
			return err
		}
		t.changes = append(t.changes, Change{AccountID: id, Kind: ChangeHierarchy | ChangeContent | ChangeDirectory, Origin: t.origin})
		return nil
	})
}

// AddAlias adds an address delivering to an account; its domain must be hosted.
func (s *Store) AddAlias(ctx context.Context, accountID int64, addr string) error {
	local, domain, err := SplitAddress(addr)
	if err != nil {
		return err
	}
	email := local + "@" + domain
	return s.write(ctx, func(t *tx) error {
		domainID, err := t.newAddress(domain, email)
		if err != nil {
			return err
		}
		if err := t.expectOne(t.exec("INSERT INTO alias(email, account_id, domain_id, created) SELECT ?, id, ?, ? FROM account WHERE id = ?",
			email, domainID, s.now().Unix(), accountID)); err != nil {
			return err
		}
		t.directoryChanged(accountID)
		return nil
	})
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, addr string) error {
	local, domain, err := SplitAddress(addr)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		var account int64
		if err := t.queryRow("DELETE FROM alias WHERE email = ? RETURNING account_id", local+"@"+domain).Scan(&account); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("alias %s: %w", addr, ErrNotFound)
			}
			return err
		}
		t.directoryChanged(account)
		return nil
	})
}

// Aliases lists an account's aliases.
func (s *Store) Aliases(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT email FROM alias WHERE account_id = ? ORDER BY email", accountID)
	return collect(rows, err, scanOne[string])
}
