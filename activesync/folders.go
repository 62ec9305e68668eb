package activesync

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/store"
)

// Folder types of [MS-ASCMD] 2.2.3.186.3 (FolderSync) and 2.2.3.186.2 (FolderCreate).
// The journal types (11 default, 16 user-created) have no store class and are not used.
const (
	folderTypeGeneric      = 1
	folderTypeInbox        = 2
	folderTypeDrafts       = 3
	folderTypeDeletedItems = 4
	folderTypeSentItems    = 5
	folderTypeOutbox       = 6
	folderTypeTasks        = 7
	folderTypeCalendar     = 8
	folderTypeContacts     = 9
	folderTypeNotes        = 10
	folderTypeUserMail     = 12
	folderTypeUserCalendar = 13
	folderTypeUserContacts = 14
	folderTypeUserTasks    = 15
	folderTypeUserNotes    = 17
)

// defaultFolderTypes maps the special roles that have a default EAS folder type. Junk and
// Archive have none: Exchange reports them as user-created mail folders (12). The store
// has no Journal role, so type 11 is never sent.
var defaultFolderTypes = map[store.Role]int{
	store.RoleInbox:    folderTypeInbox,
	store.RoleDrafts:   folderTypeDrafts,
	store.RoleTrash:    folderTypeDeletedItems,
	store.RoleSent:     folderTypeSentItems,
	store.RoleOutbox:   folderTypeOutbox,
	store.RoleTasks:    folderTypeTasks,
	store.RoleCalendar: folderTypeCalendar,
	store.RoleContacts: folderTypeContacts,
	store.RoleNotes:    folderTypeNotes,
}

// userFolderTypes maps a folder class to its user-created folder type.
var userFolderTypes = map[store.Class]int{
	store.ClassMail:     folderTypeUserMail,
	store.ClassCalendar: folderTypeUserCalendar,
	store.ClassContact:  folderTypeUserContacts,
	store.ClassTask:     folderTypeUserTasks,
	store.ClassNote:     folderTypeUserNotes,
}

// easFolderType is the FolderHierarchy Type of a folder ([MS-ASCMD] 2.2.3.186.3):
// the default type of its role, otherwise the user-created type of its class.
func easFolderType(f store.Folder) int {
	if t, ok := defaultFolderTypes[f.Role]; ok {
		return t
	}
	if t, ok := userFolderTypes[f.Class]; ok {
		return t
	}
	return folderTypeGeneric
}

// classForType is the class of a folder a device asks FolderCreate to make
// ([MS-ASCMD] 2.2.3.186.2: 1 and 12–17; 2–11 and 19 are reserved for default folders).
// A generic folder (1) holds mail, as in Exchange. Journal folders (16) are not
// supported: the store has no journal class.
func classForType(t int) (store.Class, bool) {
	switch t {
	case folderTypeGeneric, folderTypeUserMail:
		return store.ClassMail, true
	case folderTypeUserCalendar:
		return store.ClassCalendar, true
	case folderTypeUserContacts:
		return store.ClassContact, true
	case folderTypeUserTasks:
		return store.ClassTask, true
	case folderTypeUserNotes:
		return store.ClassNote, true
	}
	return "", false
}

// folderServerID is a folder's ServerId (and CollectionId): its decimal store id.
func folderServerID(id int64) string { return strconv.FormatInt(id, 10) }

// folderParentID is a folder's ParentId: "0" at the top level ([MS-ASCMD] 2.2.3.129.2).
func folderParentID(parent int64) string { return strconv.FormatInt(parent, 10) }

// parseFolderID reads a folder ServerId, CollectionId or ParentId as the device sent it.
// Only the canonical decimal form is accepted ("007" and "+7" are not ours), so that one
// folder has one name. The top level "0" is valid here; callers decide whether it is.
func parseFolderID(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// folderForCollection resolves a CollectionId (or a folder ServerId) to the principal's
// live folder. Garbage, the top level, deleted folders and other accounts' folder ids
// are all store.ErrNotFound (§2 invariant 7).
func (h *Handler) folderForCollection(ctx context.Context, rq *request, collectionID string) (store.Folder, error) {
	id, ok := parseFolderID(collectionID)
	if !ok || id == 0 {
		return store.Folder{}, fmt.Errorf("collection %q: %w", collectionID, store.ErrNotFound)
	}
	return h.st.Folder(ctx, rq.p, id)
}
