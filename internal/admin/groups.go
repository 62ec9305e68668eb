package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse/gatehouse/store"
)

// UserAttrs are the keys of Request.Attrs that `user set` accepts (the flag names),
// each with the attribute it sets.
var UserAttrs = map[string]func(*store.Attributes) *string{
	"name":        func(a *store.Attributes) *string { return &a.DisplayName },
	"given":       func(a *store.Attributes) *string { return &a.GivenName },
	"surname":     func(a *store.Attributes) *string { return &a.Surname },
	"title":       func(a *store.Attributes) *string { return &a.Title },
	"department":  func(a *store.Attributes) *string { return &a.Department },
	"company":     func(a *store.Attributes) *string { return &a.Company },
	"office":      func(a *store.Attributes) *string { return &a.Office },
	"phone":       func(a *store.Attributes) *string { return &a.Phone },
	"mobile":      func(a *store.Attributes) *string { return &a.Mobile },
	"street":      func(a *store.Attributes) *string { return &a.Street },
	"city":        func(a *store.Attributes) *string { return &a.City },
	"postal-code": func(a *store.Attributes) *string { return &a.PostalCode },
	"country":     func(a *store.Attributes) *string { return &a.Country },
}

// maxAttrLen bounds one text attribute.
const maxAttrLen = 256

// checkPhoto accepts a JPEG or PNG image of at most store.MaxPhotoSize bytes whose
// header decodes (the LDAP jpegPhoto and the ActiveSync Picture are shown as is).
func checkPhoto(b []byte) error {
	if len(b) > store.MaxPhotoSize {
		return fmt.Errorf("photo is %d KB; at most %d KB", (len(b)+1023)/1024, store.MaxPhotoSize/1024)
	}
	var err error
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		_, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		_, err = png.DecodeConfig(bytes.NewReader(b))
	default:
		return errors.New("photo must be a JPEG or PNG image")
	}
	if err != nil {
		return fmt.Errorf("photo is not a valid image: %v", err)
	}
	return nil
}

// userSet carries out `gatehouse user set EMAIL [--title …] [--photo FILE] [--hidden|--visible]`:
// only the given attributes change.
func (s *Service) userSet(ctx context.Context, req Request) (string, error) {
	if req.Email == "" {
		return "", fmt.Errorf("%w: user set EMAIL [--title …]", errUsage)
	}
	for k, v := range req.Attrs {
		if UserAttrs[k] == nil {
			return "", fmt.Errorf("%w: unknown attribute %q", errUsage, k)
		}
		if len(v) > maxAttrLen || strings.ContainsAny(v, "\r\n\x00") {
			return "", fmt.Errorf("%w: --%s: at most %d characters on one line", errUsage, k, maxAttrLen)
		}
	}
	if len(req.Photo) > 0 {
		if err := checkPhoto(req.Photo); err != nil {
			return "", fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if len(req.Attrs) == 0 && len(req.Photo) == 0 && !req.RemovePhoto && req.Hidden == nil {
		return "", fmt.Errorf("%w: user set %s: nothing to change", errUsage, req.Email)
	}
	acct, err := s.st.AccountByEmail(ctx, req.Email)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("no user %s", req.Email)
		}
		return "", err
	}
	_, err = s.st.UpdateAttributes(ctx, acct.ID, func(a *store.Attributes) {
		for k, v := range req.Attrs {
			*UserAttrs[k](a) = v
		}
		if len(req.Photo) > 0 {
			a.Photo = req.Photo
		} else if req.RemovePhoto {
			a.Photo = nil
		}
		if req.Hidden != nil {
			a.HiddenFromGAL = *req.Hidden
		}
	})
	if err != nil {
		return "", err
	}
	changed := slices.Sorted(func(yield func(string) bool) {
		for k := range req.Attrs {
			if !yield(k) {
				return
			}
		}
	})
	if len(req.Photo) > 0 || req.RemovePhoto {
		changed = append(changed, "photo")
	}
	if req.Hidden != nil {
		changed = append(changed, map[bool]string{true: "hidden", false: "visible"}[*req.Hidden])
	}
	return fmt.Sprintf("updated %s: %s\n", acct.Email, strings.Join(changed, ", ")), nil
}

// group carries out the group subcommands:
//
//	group add LIST@DOMAIN MEMBER… [--name N] [--hidden]
//	group list [DOMAIN]
//	group del LIST@DOMAIN
//	group members LIST@DOMAIN [--add A,B…] [--remove C,D…]
//	group set LIST@DOMAIN [--name N] [--hidden|--visible]
func (s *Service) group(ctx context.Context, req Request) (string, error) {
	notFound := func(err error) error {
		if errors.Is(err, store.ErrNotFound) && !strings.Contains(err.Error(), "member") {
			return fmt.Errorf("no group %s", strings.ToLower(req.Email))
		}
		return err
	}
	switch req.Op {
	case "group.add":
		if req.Email == "" {
			return "", fmt.Errorf("%w: group add LIST@DOMAIN MEMBER…", errUsage)
		}
		g, err := s.st.CreateGroup(ctx, store.NewGroup{Email: req.Email, DisplayName: req.Name,
			Hidden: req.Hidden != nil && *req.Hidden, Members: req.Members})
		if err != nil {
			if errors.Is(err, store.ErrExists) {
				return "", fmt.Errorf("address %s is already in use (account, alias or group)", strings.ToLower(req.Email))
			}
			return "", err
		}
		return fmt.Sprintf("added group %s with %d members\n", g.Email, len(g.Members)), nil
	case "group.list":
		gs, err := s.st.Groups(ctx, req.Domain)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "GROUP\tNAME\tHIDDEN\tMEMBERS")
		for _, g := range gs {
			hidden := "no"
			if g.Hidden {
				hidden = "yes"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", g.Email, dash(g.DisplayName), hidden, dash(strings.Join(g.Members, ", ")))
		}
		w.Flush()
		return b.String(), nil
	case "group.del":
		if err := s.st.DeleteGroup(ctx, req.Email); err != nil {
			return "", notFound(err)
		}
		return fmt.Sprintf("deleted group %s\n", strings.ToLower(req.Email)), nil
	case "group.members", "group.set":
		u := store.GroupUpdate{Add: req.Members, Remove: req.Remove, Hidden: req.Hidden}
		if n, ok := req.Attrs["name"]; ok {
			u.DisplayName = &n
		}
		if len(u.Add)+len(u.Remove) == 0 && u.Hidden == nil && u.DisplayName == nil {
			return "", fmt.Errorf("%w: %s: nothing to change", errUsage, strings.Replace(req.Op, ".", " ", 1))
		}
		g, err := s.st.UpdateGroup(ctx, req.Email, u)
		if err != nil {
			return "", notFound(err)
		}
		return fmt.Sprintf("updated group %s: %d members\n", g.Email, len(g.Members)), nil
	}
	return "", fmt.Errorf("%w: unknown operation %q", errUsage, req.Op)
}
