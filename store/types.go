package store

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// Errors every front end maps to its wire status in one place.
var (
	// ErrNotFound: the object does not exist or the principal cannot reach it (§2 invariant 7).
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a unique name (account, alias, domain, folder, iCalendar UID) is taken.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid: the request itself is malformed (bad name, wrong folder class…).
	ErrInvalid = errors.New("store: invalid request")
	// ErrOverQuota: the mutation would take the account over its quota.
	ErrOverQuota = errors.New("store: over quota")
	// ErrTooLarge: a message exceeds max_message_size.
	ErrTooLarge = errors.New("store: message too large")
	// ErrSchemaTooNew: the database was written by a newer Gatehouse.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
	// ErrLocked: another process holds the data directory.
	ErrLocked = errors.New("store: data directory is locked by another process")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store: closed")
)

// Principal is who a store call acts for. Today it is an account acting on its own
// data; shared folders and delegates will widen it.
type Principal struct {
	AccountID int64
}

// Class is the kind of content a folder holds.
type Class string

// Folder classes (DESIGN.md §2).
const (
	ClassMail     Class = "mail"
	ClassContact  Class = "contact"
	ClassCalendar Class = "calendar"
	ClassTask     Class = "task"
	ClassNote     Class = "note"
)

// Valid reports whether c is one of the known classes.
func (c Class) Valid() bool {
	switch c {
	case ClassMail, ClassContact, ClassCalendar, ClassTask, ClassNote:
		return true
	}
	return false
}

// Role is a folder's special use.
type Role string

// Folder roles. Each role is held by at most one live folder per account.
const (
	RoleNone     Role = ""
	RoleInbox    Role = "inbox"
	RoleDrafts   Role = "drafts"
	RoleSent     Role = "sent"
	RoleTrash    Role = "trash"
	RoleJunk     Role = "junk"
	RoleArchive  Role = "archive"
	RoleOutbox   Role = "outbox"
	RoleContacts Role = "contacts"
	RoleCalendar Role = "calendar"
	RoleTasks    Role = "tasks"
	RoleNotes    Role = "notes"
)

// DefaultFolders are created with every new account, in this order.
var DefaultFolders = []struct {
	Name  string
	Class Class
	Role  Role
}{
	{"INBOX", ClassMail, RoleInbox},
	{"Drafts", ClassMail, RoleDrafts},
	{"Sent", ClassMail, RoleSent},
	{"Trash", ClassMail, RoleTrash},
	{"Junk", ClassMail, RoleJunk},
	{"Archive", ClassMail, RoleArchive},
	{"Contacts", ClassContact, RoleContacts},
	{"Calendar", ClassCalendar, RoleCalendar},
	{"Tasks", ClassTask, RoleTasks},
	{"Notes", ClassNote, RoleNotes},
}

// Flags are the IMAP system flags, kept as a bit set.
type Flags uint32

// System flags (RFC 9051 2.3.2). \Recent is per session and lives in the IMAP front end.
const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// Keywords are normalised: sorted, unique, no empty words.
func normKeywords(kw []string) []string {
	if len(kw) == 0 {
		return nil
	}
	out := make([]string, 0, len(kw))
	for _, k := range kw {
		k = strings.TrimSpace(k)
		if k != "" && !strings.ContainsAny(k, " \t\r\n") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	j := 0
	for i, k := range out {
		if i == 0 || k != out[j-1] {
			out[j] = k
			j++
		}
	}
	if j == 0 {
		return nil
	}
	return out[:j]
}

// Domain is a mail domain hosted here.
type Domain struct {
	ID      int64
	Name    string
	Created time.Time
}

// Attributes are an account's address-book fields (used by LDAP and the GAL).
type Attributes struct {
	DisplayName   string
	GivenName     string
	Surname       string
	Title         string
	Department    string
	Company       string
	Office        string
	Phone         string
	Mobile        string
	Street        string
	City          string
	PostalCode    string
	Country       string
	Photo         []byte
	HiddenFromGAL bool
}

// Account is a mailbox owner.
type Account struct {
	ID           int64
	DomainID     int64
	Email        string
	PasswordHash string
	Attributes
	Disabled     bool
	Modseq       int64
	PrunedModseq int64
	SyncEpoch    int64
	UsageBytes   int64
	UsageItems   int64
	QuotaBytes   int64
	Created      time.Time
}

// NewAccount is what CreateAccount needs.
type NewAccount struct {
	Email        string
	PasswordHash string
	QuotaBytes   int64
	Attributes
}

// Alias is an extra address delivering to an account.
type Alias struct {
	Email     string
	AccountID int64
}

// Folder is one folder of an account; a deleted folder survives as a tombstone row.
type Folder struct {
	ID            int64
	AccountID     int64
	ParentID      int64 // 0: top level
	Name          string
	Class         Class
	Role          Role
	UIDValidity   uint32
	UIDNext       uint32
	HighestModseq int64
	HierModseq    int64
	CreateModseq  int64
	Subscribed    bool
	Deleted       bool
	// FirstRecentUID: uids from here up have not been shown as \Recent to any
	// IMAP4rev1 session yet (ClaimRecent).
	FirstRecentUID uint32
}

// FolderStatus is what IMAP STATUS and EAS GetItemEstimate ask.
type FolderStatus struct {
	Messages      int64
	Unseen        int64
	Size          int64
	UIDNext       uint32
	UIDValidity   uint32
	HighestModseq int64
	Recent        int64 // messages not yet shown as \Recent (RFC 3501 STATUS RECENT)
}

// Item is the metadata of one item (message, event, contact, task, note).
type Item struct {
	ID           int64
	AccountID    int64
	FolderID     int64
	UID          uint32
	Modseq       int64
	CreateModseq int64
	Class        Class
	Flags        Flags
	Keywords     []string
	InternalDate time.Time
	Size         int64
	BlobHash     string // mail: the raw message; empty for PIM items

	// Mail index fields.
	Subject       string
	From          string
	To            string
	MessageID     string
	InReplyTo     string
	ThreadKey     string
	SentDate      time.Time
	HasAttachment bool
	Preview       string

	// PIM index fields; Content is loaded by GetItem only.
	Content  string
	ICalUID  string
	DavName  string
	Start    time.Time
	End      time.Time
	RecurEnd time.Time // zero: not recurring; farFuture: unbounded
	Sequence int
}

// ServerID is the ActiveSync ServerId of the item ([MS-ASCMD] 2.2.3.166.x: at most 64
// characters), the same for every device and after a resync (§2 invariant 3).
func (it *Item) ServerID() string {
	return formatServerID(it.FolderID, it.ID)
}

// Tombstone records an item that left a folder (§2 entity tombstone).
type Tombstone struct {
	FolderID int64
	Modseq   int64
	ItemID   int64
	UID      uint32
	DavName  string
	Reason   Reason
}

// Reason says why an item left a folder.
type Reason string

// Tombstone reasons.
const (
	ReasonExpunged Reason = "expunged"
	ReasonMoved    Reason = "moved"
	ReasonReplaced Reason = "replaced"
)

// DeliverOptions are the optional parts of a delivery or an IMAP APPEND.
type DeliverOptions struct {
	Flags        Flags
	Keywords     []string
	InternalDate time.Time // zero: now
}

// Delivered identifies a stored item.
type Delivered struct {
	AccountID int64
	FolderID  int64
	ItemID    int64
	UID       uint32
	Modseq    int64
}

// Recipient is one target of a multi-recipient delivery.
type Recipient struct {
	Principal Principal
	FolderID  int64 // 0: the account's Inbox
	DeliverOptions
}

// PIMItem is an iCalendar or vCard item as a protocol hands it over. The index fields are
// derived by the caller's domain package (calendar/, contacts); the store keeps the text
// exactly as given.
type PIMItem struct {
	Content  string
	ICalUID  string // empty: taken from the text's UID property if present
	DavName  string
	Start    time.Time
	End      time.Time
	RecurEnd time.Time
	Sequence int
	Flags    Flags
}

// UIDRange is an inclusive range of uids; Last 0 means "to the end".
type UIDRange struct{ First, Last uint32 }

// Selector picks items in one folder, by uid ranges or by item ids (not both).
// An empty selector selects nothing.
type Selector struct {
	FolderID int64
	UIDs     []UIDRange
	IDs      []int64
}

// FlagOp says how SetFlags combines.
type FlagOp int

// Flag operations (RFC 9051 6.4.6: FLAGS, +FLAGS, -FLAGS).
const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FlagChange is one item's flags after SetFlags.
type FlagChange struct {
	ItemID   int64
	UID      uint32
	Flags    Flags
	Keywords []string
	Modseq   int64
}

// Moved maps an item to its new place after Move or Copy.
type Moved struct {
	ItemID    int64 // the source item (Move: same id at the destination)
	NewItemID int64 // Copy: the new item; Move: equal to ItemID
	OldUID    uint32
	NewUID    uint32
}

// Delta is what changed in a folder since a modseq, read in one snapshot.
type Delta struct {
	Items      []Item      // live items with modseq > since, by modseq
	Tombstones []Tombstone // tombstones with modseq > since, by modseq
	Modseq     int64       // the new watermark: the folder's highest modseq in that snapshot
	// Pruned: since is below the account's pruned_modseq, so tombstones may be missing;
	// the caller must fall back to a full comparison (§2 invariant 2).
	Pruned    bool
	SyncEpoch int64
}

// FolderDelta is what changed in an account's folder tree since a modseq.
type FolderDelta struct {
	Folders   []Folder // live folders whose row changed since, by hier_modseq
	Deleted   []Folder // folder tombstones since
	Modseq    int64    // the account's modseq in that snapshot
	SyncEpoch int64
}
