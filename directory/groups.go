package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// GALKind says what an address-book entry is.
type GALKind string

// The kinds of address-book entries.
const (
	GALPerson GALKind = ""      // an account
	GALGroup  GALKind = "group" // a distribution group (store.Group)
)

// IsGroup reports whether the entry is a distribution group.
func (e *GALEntry) IsGroup() bool { return e.Kind == GALGroup }

// groupValues are a group's indexed values: cn is its display name and its local part
// (the local part names it in LDAP, cn=<local>,ou=groups,…, and an RDN value must be
// one of the entry's values, RFC 4512 2.3.1); a group has no surname or given name.
func (e *GALEntry) groupValues(a GALAttr) []string {
	switch a {
	case GALCommonName:
		if e.DisplayName != "" && Fold(e.DisplayName) != Fold(e.Local) {
			return []string{e.DisplayName, e.Local}
		}
		return []string{e.Local}
	case GALMail:
		return []string{e.Email}
	case GALDisplayName:
		if e.DisplayName != "" {
			return []string{e.DisplayName}
		}
	}
	return nil
}

// groupEntry makes the address-book entry of a group not hidden.
func groupEntry(gr store.Group) GALEntry {
	local, domain, _ := strings.Cut(gr.Email, "@")
	return GALEntry{ID: gr.ID, Email: gr.Email, Local: local, Domain: domain, Kind: GALGroup,
		Attributes: store.Attributes{DisplayName: gr.DisplayName}, Members: gr.Members}
}

// loadGroups reads the groups not hidden from the address book. Groups change rarely and
// publish a directory hint of account 0, which reloads everything (GAL.Run).
func (g *GAL) loadGroups(ctx context.Context) (map[int64]GALEntry, error) {
	gs, err := g.st.Groups(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make(map[int64]GALEntry, len(gs))
	for _, gr := range gs {
		if !gr.Hidden {
			out[gr.ID] = groupEntry(gr)
		}
	}
	return out, nil
}

// appendGroupsLocked appends the visible groups to entries (the people), each with the
// members the address book may show: external addresses and visible local entries.
// A hidden account or group stays hidden even as somebody's member.
func (g *GAL) appendGroupsLocked(entries []GALEntry) []GALEntry {
	if len(g.groups) == 0 {
		return entries
	}
	visible := make(map[string]bool, len(entries)+len(g.groups))
	for _, e := range entries {
		visible[strings.ToLower(e.Email)] = true
		for _, a := range e.Aliases {
			visible[strings.ToLower(a)] = true
		}
	}
	for _, gr := range g.groups {
		visible[gr.Email] = true
	}
	for _, gr := range g.groups {
		members := make([]string, 0, len(gr.Members))
		for _, m := range gr.Members {
			_, domain, _ := strings.Cut(m, "@")
			if visible[m] || !slices.Contains(g.domains, domain) {
				members = append(members, m)
			}
		}
		gr.Members = members
		entries = append(entries, gr)
	}
	return entries
}
