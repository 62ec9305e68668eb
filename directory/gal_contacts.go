package directory

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/store"
)

// PersonalContact is one card of an account's own Contacts folder, as the LDAP front
// end shows it to that account only.
type PersonalContact struct {
	ItemID    int64
	FullName  string
	GivenName string
	Surname   string
	Org       string
	Title     string
	Emails    []string
	Phones    []string
	Mobiles   []string
}

// contactsCache keeps the personal contacts read, by account, until the change feed
// says something of that account changed (GAL.Run calls invalidate). A load stores its
// result only if no invalidation happened since it started (gen).
type contactsCache struct {
	mu    sync.Mutex
	epoch uint64           // bumped by an overflow (everything changed)
	gens  map[int64]uint64 // bumped by a change of the account
	byID  map[int64]cachedContacts
}

type cachedContacts struct {
	contacts []PersonalContact
}

func (c *contactsCache) invalidate(changes []store.Change, overflow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(changes) == 0 && !overflow {
		return
	}
	if overflow {
		c.epoch++
		clear(c.byID)
		return
	}
	for _, ch := range changes {
		if ch.Kind&(store.ChangeContent|store.ChangeHierarchy) != 0 {
			c.gens[ch.AccountID]++
			delete(c.byID, ch.AccountID)
		}
	}
}

// PersonalContacts returns the cards of an account's Contacts folder (the folder with
// the contacts role), from memory until the change feed reports a change in that
// account (GAL.Run must be running), and rereading the folder then. Callers must only ever pass the account of the
// authenticated user: the result is that user's private data.
func (g *GAL) PersonalContacts(ctx context.Context, accountID int64) ([]PersonalContact, error) {
	g.personal.mu.Lock()
	c, ok := g.personal.byID[accountID]
	epoch, gen := g.personal.epoch, g.personal.gens[accountID]
	g.personal.mu.Unlock()
	if ok {
		return c.contacts, nil
	}
	p := store.Principal{AccountID: accountID}
	f, err := g.st.FolderByRole(ctx, p, store.RoleContacts)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	items, err := g.st.ListItems(ctx, p, f.ID, store.UIDRange{First: 1})
	if err != nil {
		return nil, err
	}
	var out []PersonalContact
	for _, it := range items {
		full, err := g.st.GetItem(ctx, p, it.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pc := ParseVCard(full.Content)
		pc.ItemID = it.ID
		out = append(out, pc)
	}
	g.personal.mu.Lock()
	if g.personal.epoch == epoch && g.personal.gens[accountID] == gen {
		g.personal.byID[accountID] = cachedContacts{contacts: out}
	}
	g.personal.mu.Unlock()
	return out, nil
}

// ParseVCard reads the address-book fields of a vCard (RFC 6350; 3.0 alike): FN, N,
// ORG, TITLE, EMAIL, TEL (TYPE=cell to Mobiles). Unknown properties are ignored.
func ParseVCard(text string) PersonalContact {
	var pc PersonalContact
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\n ", "")  // RFC 6350 3.2 unfolding
	text = strings.ReplaceAll(text, "\n\t", "") //
	for _, line := range strings.Split(text, "\n") {
		nameParams, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		parts := strings.Split(nameParams, ";")
		name := strings.ToUpper(parts[0])
		if i := strings.IndexByte(name, '.'); i >= 0 { // group prefix (item1.EMAIL)
			name = name[i+1:]
		}
		params := strings.ToLower(strings.Join(parts[1:], ";"))
		switch name {
		case "FN":
			pc.FullName = vcardUnescape(value)
		case "N":
			f := splitUnescaped(value)
			if len(f) > 0 {
				pc.Surname = f[0]
			}
			if len(f) > 1 {
				pc.GivenName = f[1]
			}
		case "ORG":
			f := splitUnescaped(value)
			if len(f) > 0 {
				pc.Org = f[0]
			}
		case "TITLE":
			pc.Title = vcardUnescape(value)
		case "EMAIL":
			if v := vcardUnescape(value); v != "" {
				pc.Emails = append(pc.Emails, v)
			}
		case "TEL":
			v := strings.TrimPrefix(vcardUnescape(value), "tel:")
			if v == "" {
				break
			}
			if strings.Contains(params, "cell") {
				pc.Mobiles = append(pc.Mobiles, v)
			} else {
				pc.Phones = append(pc.Phones, v)
			}
		}
	}
	if pc.FullName == "" {
		pc.FullName = strings.TrimSpace(pc.GivenName + " " + pc.Surname)
	}
	if pc.FullName == "" && len(pc.Emails) > 0 {
		pc.FullName = pc.Emails[0]
	}
	return pc
}

func splitUnescaped(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			if v[i] == 'n' || v[i] == 'N' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(v[i])
			}
		case v[i] == ';':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(v[i])
		}
	}
	return append(out, b.String())
}

func vcardUnescape(v string) string {
	return strings.Join(splitUnescaped(v), ";")
}
