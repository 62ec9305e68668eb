package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/store"
)

// groupFlags declares the flags of `user set` and `group …`.
func (c *cli) groupFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.hidden, "hidden", false, "user set, group add/set: hide from the address book")
	fs.BoolVar(&c.visible, "visible", false, "user set, group set: show in the address book")
	list := func(dst *[]string) func(string) error {
		return func(v string) error {
			for m := range strings.SplitSeq(v, ",") {
				if m = strings.TrimSpace(m); m != "" {
					*dst = append(*dst, m)
				}
			}
			return nil
		}
	}
	fs.Func("add", "group members: members to add (comma-separated, repeatable)", list(&c.add))
	fs.Func("remove", "group members: members to remove (comma-separated, repeatable)", list(&c.remove))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range admin.UserAttrs {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "name" { // declared with user add's flags
			continue
		}
		fs.String(k, "", "user set: the "+k+" attribute")
	}
	fs.Func("photo", "user set: a JPEG or PNG file (at most 100 KB); \"\" removes the photo", func(v string) error {
		c.photo = &v
		return nil
	})
}

// visited records which attribute flags were given, so that only those change.
func (c *cli) visited(fs *flag.FlagSet) {
	c.attrs = map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if admin.UserAttrs[f.Name] != nil {
			c.attrs[f.Name] = f.Value.String()
		}
	})
}

// directoryRequest builds the requests of `user set` and `group …`.
func (c *cli) directoryRequest(req admin.Request, pos []string) (admin.Request, error) {
	if c.hidden && c.visible {
		return req, errors.New("--hidden and --visible exclude each other")
	}
	var hidden *bool
	if c.hidden || c.visible {
		hidden = &c.hidden
	}
	switch req.Op {
	case "user.set":
		if len(pos) != 3 {
			return req, errors.New("usage: gatehouse user set EMAIL [--title T] … [--photo FILE] [--hidden|--visible]")
		}
		req.Email, req.Hidden, req.Attrs = pos[2], hidden, c.attrs
		if c.photo != nil {
			if *c.photo == "" {
				req.RemovePhoto = true
			} else {
				b, err := readPhoto(*c.photo)
				if err != nil {
					return req, err
				}
				req.Photo = b
			}
		}
	case "group.add":
		if len(pos) < 3 {
			return req, errors.New("usage: gatehouse group add LIST@DOMAIN MEMBER… [--name N] [--hidden]")
		}
		if c.visible {
			return req, errors.New("group add: --visible is the default")
		}
		req.Email, req.Members, req.Hidden = pos[2], pos[3:], hidden
	case "group.list":
		if len(pos) > 3 {
			return req, errors.New("usage: gatehouse group list [DOMAIN]")
		}
		if len(pos) == 3 {
			req.Domain = pos[2]
		}
	case "group.del":
		if len(pos) != 3 {
			return req, errors.New("usage: gatehouse group del LIST@DOMAIN")
		}
		req.Email = pos[2]
	case "group.members":
		if len(pos) != 3 || len(c.add)+len(c.remove) == 0 {
			return req, errors.New("usage: gatehouse group members LIST@DOMAIN [--add A,B…] [--remove C,D…]")
		}
		req.Email, req.Members, req.Remove = pos[2], c.add, c.remove
	case "group.set":
		if len(pos) != 3 {
			return req, errors.New("usage: gatehouse group set LIST@DOMAIN [--name N] [--hidden|--visible]")
		}
		req.Email, req.Hidden = pos[2], hidden
		if n, ok := c.attrs["name"]; ok {
			req.Attrs = map[string]string{"name": n}
		}
	}
	return req, nil
}

// readPhoto reads a photo file, refusing one too big to send before reading it whole.
func readPhoto(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--photo: %w", err)
	}
	if fi.Size() > store.MaxPhotoSize {
		return nil, fmt.Errorf("--photo: %s is %d KB; at most %d KB", path, (fi.Size()+1023)/1024, store.MaxPhotoSize/1024)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--photo: %w", err)
	}
	return b, nil
}
