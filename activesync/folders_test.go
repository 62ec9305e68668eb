package activesync

import (
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestEASFolderType(t *testing.T) {
	cases := []struct {
		role  store.Role
		class store.Class
		want  int
	}{
		{store.RoleInbox, store.ClassMail, 2},
		{store.RoleDrafts, store.ClassMail, 3},
		{store.RoleTrash, store.ClassMail, 4},
		{store.RoleSent, store.ClassMail, 5},
		{store.RoleOutbox, store.ClassMail, 6},
		{store.RoleTasks, store.ClassTask, 7},
		{store.RoleCalendar, store.ClassCalendar, 8},
		{store.RoleContacts, store.ClassContact, 9},
		{store.RoleNotes, store.ClassNote, 10},
		{store.RoleJunk, store.ClassMail, 12},
		{store.RoleArchive, store.ClassMail, 12},
		{store.RoleNone, store.ClassMail, 12},
		{store.RoleNone, store.ClassCalendar, 13},
		{store.RoleNone, store.ClassContact, 14},
		{store.RoleNone, store.ClassTask, 15},
		{store.RoleNone, store.ClassNote, 17},
		{store.RoleNone, store.Class("weird"), 1},
	}
	for _, c := range cases {
		if got := easFolderType(store.Folder{Role: c.role, Class: c.class}); got != c.want {
			t.Errorf("role %q class %q: type %d, want %d", c.role, c.class, got, c.want)
		}
	}
}

func TestClassForType(t *testing.T) {
	want := map[int]store.Class{1: store.ClassMail, 12: store.ClassMail, 13: store.ClassCalendar,
		14: store.ClassContact, 15: store.ClassTask, 17: store.ClassNote}
	for typ := -1; typ <= 20; typ++ {
		class, ok := classForType(typ)
		if w, exp := want[typ]; ok != exp || class != w {
			t.Errorf("type %d: %q %v, want %q %v", typ, class, ok, w, exp)
		}
		// A user-created folder of the class created reads back as the same type
		// (1, generic, reads back as a mail folder).
		if ok && typ != 1 {
			if back := easFolderType(store.Folder{Class: class}); back != typ {
				t.Errorf("type %d → %s → %d", typ, class, back)
			}
		}
	}
}

func TestParseFolderID(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "42": 42, "9223372036854775807": 1<<63 - 1}
	for s, want := range good {
		if got, ok := parseFolderID(s); !ok || got != want {
			t.Errorf("%q: %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-1", "+1", "01", "1a", " 1", "1 ", "9223372036854775808", "1:2", "0x10", "١"} {
		if got, ok := parseFolderID(s); ok {
			t.Errorf("%q accepted as %d", s, got)
		}
	}
}

func TestHierarchyKeyRoundTrip(t *testing.T) {
	for _, k := range []hierarchyKey{{0, 1}, {1, 1}, {7, 123456}, {1<<63 - 1, 1<<63 - 1}} {
		got, ok := parseHierarchyKey(k.String())
		if !ok || got != k {
			t.Errorf("%v → %q → %v %v", k, k.String(), got, ok)
		}
		if len(k.String()) > 64 {
			t.Errorf("%q longer than 64 characters ([MS-ASCMD] 2.2.3.181.2)", k.String())
		}
	}
	for _, s := range []string{"", "0", "1", "1-0", "-1", "1-", "01-1", "1-01", "1-1-1", "a-1", "1--1"} {
		if k, ok := parseHierarchyKey(s); ok {
			t.Errorf("%q accepted as %v", s, k)
		}
	}
}

// FuzzFolderIDs: the ids and keys a device sends never panic, and whatever is accepted
// is the canonical form of what it means.
func FuzzFolderIDs(f *testing.F) {
	for _, s := range []string{"0", "1", "42", "01", "-1", "1-1", "3-17", "1-0", "9223372036854775807-1", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := parseFolderID(s); ok && strconv.FormatInt(id, 10) != s {
			t.Errorf("%q accepted as %d", s, id)
		}
		if k, ok := parseHierarchyKey(s); ok && k.String() != s {
			t.Errorf("%q accepted as %v", s, k)
		}
	})
}
