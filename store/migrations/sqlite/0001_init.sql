-- Gatehouse store, schema 1: domains, accounts, aliases, folders, items, tombstones,
-- the MAPI property bag and content-addressed blobs. See DESIGN.md §2.
-- account_id comes first in every key so that the database can be split by account later.

CREATE TABLE domain (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created     INTEGER NOT NULL
);

CREATE TABLE account (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id       INTEGER NOT NULL REFERENCES domain(id),
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT NOT NULL DEFAULT '',
    display_name    TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    surname         TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL DEFAULT '',
    company         TEXT NOT NULL DEFAULT '',
    office          TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    mobile          TEXT NOT NULL DEFAULT '',
    street          TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    photo           BLOB,
    hidden_from_gal INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    -- the account's change counter: every mutation takes the next value (§2 invariant 1)
    modseq          INTEGER NOT NULL DEFAULT 0,
    -- tombstones at or below this modseq have been pruned (§2 invariant 2)
    pruned_modseq   INTEGER NOT NULL DEFAULT 0,
    -- bumped by a restore or repair so that no client trusts older modseqs
    sync_epoch      INTEGER NOT NULL DEFAULT 1,
    -- next IMAP uidvalidity handed to a new folder; strictly increasing per account
    next_uidvalidity INTEGER NOT NULL,
    usage_bytes     INTEGER NOT NULL DEFAULT 0,
    usage_items     INTEGER NOT NULL DEFAULT 0,
    quota_bytes     INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL
);
CREATE INDEX account_domain ON account(domain_id);

CREATE TABLE alias (
    email       TEXT PRIMARY KEY COLLATE NOCASE,
    account_id  INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    domain_id   INTEGER NOT NULL REFERENCES domain(id),
    created     INTEGER NOT NULL
);
CREATE INDEX alias_account ON alias(account_id);

CREATE TABLE folder (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    parent_id       INTEGER NOT NULL DEFAULT 0,
    name            TEXT NOT NULL,
    class           TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT '',
    uidvalidity     INTEGER NOT NULL,
    uidnext         INTEGER NOT NULL DEFAULT 1,
    -- covers the folder's items and its tombstones
    highest_modseq  INTEGER NOT NULL,
    -- the last change of this folder's own row (name, parent, subscription, deletion)
    hier_modseq     INTEGER NOT NULL,
    create_modseq   INTEGER NOT NULL,
    subscribed      INTEGER NOT NULL DEFAULT 1,
    item_count      INTEGER NOT NULL DEFAULT 0,
    unseen_count    INTEGER NOT NULL DEFAULT 0,
    total_size      INTEGER NOT NULL DEFAULT 0,
    -- non-null: the folder is deleted and this row is its tombstone
    deleted_modseq  INTEGER
);
CREATE UNIQUE INDEX folder_name ON folder(account_id, parent_id, name) WHERE deleted_modseq IS NULL;
CREATE UNIQUE INDEX folder_role ON folder(account_id, role) WHERE deleted_modseq IS NULL AND role <> '';
CREATE INDEX folder_hier ON folder(account_id, hier_modseq);

CREATE TABLE blob (
    hash        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    refcount    INTEGER NOT NULL,
    -- unix seconds at which refcount last became zero; the collector waits a grace period
    zero_since  INTEGER
);
CREATE INDEX blob_zero ON blob(zero_since) WHERE refcount = 0;

CREATE TABLE item (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL,
    folder_id       INTEGER NOT NULL,
    uid             INTEGER NOT NULL,
    modseq          INTEGER NOT NULL,
    create_modseq   INTEGER NOT NULL,
    class           TEXT NOT NULL,
    flags           INTEGER NOT NULL DEFAULT 0,
    keywords        TEXT NOT NULL DEFAULT '',
    internal_date   INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    blob_hash       TEXT,
    -- mail: indexed envelope fields and the pre-computed structure (JSON of message.Parsed)
    subject         TEXT NOT NULL DEFAULT '',
    from_addr       TEXT NOT NULL DEFAULT '',
    to_addr         TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    in_reply_to     TEXT NOT NULL DEFAULT '',
    thread_key      TEXT NOT NULL DEFAULT '',
    sent_date       INTEGER NOT NULL DEFAULT 0,
    has_attachment  INTEGER NOT NULL DEFAULT 0,
    preview         TEXT NOT NULL DEFAULT '',
    structure       BLOB,
    -- PIM: the canonical text as received (iCalendar or vCard) and its index fields
    content         TEXT,
    ical_uid        TEXT,
    dav_name        TEXT,
    start_time      INTEGER,
    end_time        INTEGER,
    recur_end       INTEGER,
    sequence        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX item_uid ON item(account_id, folder_id, uid);
CREATE INDEX item_modseq ON item(account_id, folder_id, modseq);
CREATE UNIQUE INDEX item_ical_uid ON item(account_id, folder_id, ical_uid) WHERE ical_uid IS NOT NULL;
CREATE INDEX item_thread ON item(account_id, thread_key) WHERE thread_key <> '';
CREATE INDEX item_blob ON item(blob_hash) WHERE blob_hash IS NOT NULL;

CREATE TABLE tombstone (
    account_id  INTEGER NOT NULL,
    folder_id   INTEGER NOT NULL,
    modseq      INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    dav_name    TEXT,
    reason      TEXT NOT NULL,
    -- unix seconds; tombstones older than store.prune_tombstones_after are pruned
    created     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tombstone_modseq ON tombstone(account_id, folder_id, modseq);

-- The MAPI property bag: what the canonical text cannot hold. Tags and types come from mapi/.
CREATE TABLE item_prop (
    account_id  INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    tag         INTEGER NOT NULL,
    value       BLOB,
    -- hash of the canonical text a cached derived value came from; '' for primary values
    source_hash TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, item_id, tag)
);
