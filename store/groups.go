package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Group is a distribution group (schema 4, mail_group): an address of a hosted domain
// that expands, when mail is delivered, to its members — accounts, aliases, other
// groups or external addresses.
type Group struct {
	ID          int64
	DomainID    int64
	Email       string // local@domain, lower case
	DisplayName string
	Hidden      bool     // not listed in the address book (still receives mail)
	Members     []string // addresses, lower case, sorted
	Created     time.Time
}

// NewGroup is what CreateGroup needs.
type NewGroup struct {
	Email       string
	DisplayName string
	Hidden      bool
	Members     []string
}

// GroupUpdate changes a group; nil fields are kept.
type GroupUpdate struct {
	DisplayName *string
	Hidden      *bool
	Add, Remove []string
}

// MaxGroupMembers bounds the direct members of one group.
const MaxGroupMembers = 10000

// groupAddress normalises a group's or member's address to lower case.
func groupAddress(addr string) (local, domain, email string, err error) {
	local, domain, err = SplitAddress(addr)
	if err != nil {
		return "", "", "", err
	}
	local = strings.ToLower(local)
	return local, domain, local + "@" + domain, nil
}

// groupID returns the id of the group at an address (lower-case local@domain), or 0.
func (t *tx) groupID(email string) (int64, error) {
	local, domain, _ := strings.Cut(email, "@")
	var id int64
	err := t.queryRow("SELECT g.id FROM mail_group g JOIN domain d ON d.id = g.domain_id WHERE d.name = ? AND g.local = ?",
		domain, strings.ToLower(local)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// checkMembers normalises members and checks that an address of a hosted domain is an
// account, an alias or a group: a typo in a local address is refused, not discovered
// when mail bounces. self is the group's own address, which may not be its own member.
func (t *tx) checkMembers(self string, members []string) ([]string, error) {
	out := make([]string, 0, len(members))
	for _, m := range members {
		_, domain, email, err := groupAddress(m)
		if err != nil {
			return nil, fmt.Errorf("member: %w", err)
		}
		if email == self {
			return nil, fmt.Errorf("%w: group %s cannot be its own member", ErrInvalid, self)
		}
		var hosted, n int
		if err := t.queryRow("SELECT count(*) FROM domain WHERE name = ?", domain).Scan(&hosted); err != nil {
			return nil, err
		}
		if hosted > 0 {
			if err := t.queryRow("SELECT (SELECT count(*) FROM account WHERE email = ?) + (SELECT count(*) FROM alias WHERE email = ?)",
				email, email).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				g, err := t.groupID(email)
				if err != nil {
					return nil, err
				}
				if g == 0 {
					return nil, fmt.Errorf("%w: member %s: no such account, alias or group", ErrNotFound, email)
				}
			}
		}
		out = append(out, email)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CreateGroup creates a distribution group in a hosted domain. Its address must not be
// an account's, an alias's or another group's (ErrExists); members of hosted domains
// must exist.
func (s *Store) CreateGroup(ctx context.Context, ng NewGroup) (Group, error) {
	local, domain, email, err := groupAddress(ng.Email)
	if err != nil {
		return Group{}, err
	}
	if len(ng.Members) > MaxGroupMembers {
		return Group{}, fmt.Errorf("%w: more than %d members", ErrInvalid, MaxGroupMembers)
	}
	var id int64
	err = s.write(ctx, func(t *tx) error {
		domainID, err := t.newAddress(domain, email)
		if err != nil {
			return err
		}
		members, err := t.checkMembers(email, ng.Members)
		if err != nil {
			return err
		}
		if err := t.queryRow("INSERT INTO mail_group(domain_id, local, display_name, hidden, created) VALUES(?,?,?,?,?) RETURNING id",
			domainID, local, ng.DisplayName, ng.Hidden, s.now().Unix()).Scan(&id); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := t.exec("INSERT INTO mail_group_member(group_id, address) VALUES(?, ?)", id, m); err != nil {
				return err
			}
		}
		t.directoryChanged(0)
		return nil
	})
	if err != nil {
		return Group{}, err
	}
	return s.GroupByEmail(ctx, email)
}

// UpdateGroup changes a group's display name, visibility or members (removals are
// applied before additions).
func (s *Store) UpdateGroup(ctx context.Context, addr string, u GroupUpdate) (Group, error) {
	_, _, email, err := groupAddress(addr)
	if err != nil {
		return Group{}, err
	}
	err = s.write(ctx, func(t *tx) error {
		id, err := t.groupID(email)
		if err != nil {
			return err
		}
		if id == 0 {
			return fmt.Errorf("group %s: %w", email, ErrNotFound)
		}
		if u.DisplayName != nil {
			if _, err := t.exec("UPDATE mail_group SET display_name = ? WHERE id = ?", *u.DisplayName, id); err != nil {
				return err
			}
		}
		if u.Hidden != nil {
			if _, err := t.exec("UPDATE mail_group SET hidden = ? WHERE id = ?", *u.Hidden, id); err != nil {
				return err
			}
		}
		for _, m := range u.Remove {
			_, _, me, err := groupAddress(m)
			if err != nil {
				return fmt.Errorf("member: %w", err)
			}
			if err := t.expectOne(t.exec("DELETE FROM mail_group_member WHERE group_id = ? AND address = ?", id, me)); err != nil {
				return fmt.Errorf("%s is not a member of %s: %w", me, email, err)
			}
		}
		add, err := t.checkMembers(email, u.Add)
		if err != nil {
			return err
		}
		for _, m := range add {
			if _, err := t.exec("INSERT INTO mail_group_member(group_id, address) VALUES(?, ?) ON CONFLICT DO NOTHING", id, m); err != nil {
				return err
			}
		}
		var n int
		if err := t.queryRow("SELECT count(*) FROM mail_group_member WHERE group_id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > MaxGroupMembers {
			return fmt.Errorf("%w: more than %d members", ErrInvalid, MaxGroupMembers)
		}
		t.directoryChanged(0)
		return nil
	})
	if err != nil {
		return Group{}, err
	}
	return s.GroupByEmail(ctx, email)
}

// DeleteGroup removes a group. Other groups naming it as a member keep the address,
// which then expands to nothing.
func (s *Store) DeleteGroup(ctx context.Context, addr string) error {
	_, _, email, err := groupAddress(addr)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		id, err := t.groupID(email)
		if err != nil {
			return err
		}
		if id == 0 {
			return fmt.Errorf("group %s: %w", email, ErrNotFound)
		}
		if _, err := t.exec("DELETE FROM mail_group_member WHERE group_id = ?", id); err != nil {
			return err
		}
		if _, err := t.exec("DELETE FROM mail_group WHERE id = ?", id); err != nil {
			return err
		}
		t.directoryChanged(0)
		return nil
	})
}

const groupSelect = `SELECT g.id, g.domain_id, g.local || '@' || d.name, g.display_name, g.hidden, g.created
FROM mail_group g JOIN domain d ON d.id = g.domain_id`

func scanGroup(sc scanner) (Group, error) {
	var g Group
	var created int64
	err := sc.Scan(&g.ID, &g.DomainID, &g.Email, &g.DisplayName, &g.Hidden, &created)
	g.Created = time.Unix(created, 0)
	return g, err
}

// GroupByEmail reads a group and its members; ErrNotFound if the address is not a group.
func (s *Store) GroupByEmail(ctx context.Context, addr string) (Group, error) {
	local, domain, _, err := groupAddress(addr)
	if err != nil {
		return Group{}, fmt.Errorf("group %s: %w", addr, ErrNotFound)
	}
	g, err := scanGroup(s.rq.QueryRowContext(ctx, groupSelect+" WHERE d.name = ? AND g.local = ?", domain, local))
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("group %s: %w", addr, ErrNotFound)
	}
	if err != nil {
		return g, err
	}
	g.Members, err = s.groupMembers(ctx, g.ID)
	return g, err
}

func (s *Store) groupMembers(ctx context.Context, id int64) ([]string, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT address FROM mail_group_member WHERE group_id = ? ORDER BY address", id)
	return collect(rows, err, scanOne[string])
}

// Groups lists the groups of a domain ("": of every domain) by address, with members.
func (s *Store) Groups(ctx context.Context, domain string) ([]Group, error) {
	q, args := groupSelect+" ORDER BY d.name, g.local", []any(nil)
	if domain != "" {
		q, args = groupSelect+" WHERE d.name = ? ORDER BY g.local", []any{NormalizeDomain(domain)}
	}
	rows, err := s.rq.QueryContext(ctx, q, args...)
	gs, err := collect(rows, err, scanGroup)
	if err != nil {
		return nil, err
	}
	rows, err = s.rq.QueryContext(ctx, "SELECT group_id, address FROM mail_group_member ORDER BY group_id, address")
	type member struct {
		group int64
		addr  string
	}
	ms, err := collect(rows, err, func(sc scanner) (member, error) {
		var m member
		err := sc.Scan(&m.group, &m.addr)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]int, len(gs))
	for i := range gs {
		byID[gs[i].ID] = i
	}
	for _, m := range ms {
		if i, ok := byID[m.group]; ok {
			gs[i].Members = append(gs[i].Members, m.addr)
		}
	}
	return gs, nil
}

// ExpandGroup expands the group at addr to the distinct addresses that are not groups,
// following nested groups breadth first in one read snapshot. A group reached twice
// (a loop, or nesting along two paths) is expanded once, so every address appears once
// and the walk terminates. The walk stops once more than limit addresses were found
// (limit <= 0: no limit), so the caller can refuse an oversized expansion without
// building it. ErrNotFound if addr is not a group.
func (s *Store) ExpandGroup(ctx context.Context, addr string, limit int) ([]string, error) {
	_, _, email, err := groupAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", addr, ErrNotFound)
	}
	q, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer q.Rollback()
	groupOf := func(email string) (int64, error) {
		local, domain, _ := strings.Cut(email, "@")
		var id int64
		err := q.QueryRowContext(ctx, "SELECT g.id FROM mail_group g JOIN domain d ON d.id = g.domain_id WHERE d.name = ? AND g.local = ?",
			domain, local).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return id, err
	}
	root, err := groupOf(email)
	if err != nil {
		return nil, err
	}
	if root == 0 {
		return nil, fmt.Errorf("group %s: %w", addr, ErrNotFound)
	}
	seenGroup := map[int64]bool{root: true}
	seenAddr := map[string]bool{email: true}
	var out []string
	queue := []int64{root}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		rows, err := q.QueryContext(ctx, "SELECT address FROM mail_group_member WHERE group_id = ? ORDER BY address", id)
		members, err := collect(rows, err, scanOne[string])
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if seenAddr[m] {
				continue
			}
			seenAddr[m] = true
			g, err := groupOf(m)
			if err != nil {
				return nil, err
			}
			if g != 0 {
				if !seenGroup[g] {
					seenGroup[g] = true
					queue = append(queue, g)
				}
				continue
			}
			out = append(out, m)
			if limit > 0 && len(out) > limit {
				return out, nil
			}
		}
	}
	return out, nil
}
