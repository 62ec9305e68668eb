-- Gatehouse store, schema 4: the full-text index of mail, and distribution groups.

-- Full-text index of mail items (subject, addresses, decoded text bodies), for
-- ActiveSync Search/Find and IMAP SEARCH TEXT/BODY. Contentless: the text lives in the
-- blobs; rowid is item.id (kept on move, so a move needs no reindexing). Rows are
-- written in the delivering mutation (the text is extracted before it) and deleted with
-- the item.
CREATE VIRTUAL TABLE item_fts USING fts5(
    subject, addresses, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Distribution groups: an address of a hosted domain that expands to its members
-- (accounts, aliases, other groups or external addresses) when mail is delivered.
CREATE TABLE mail_group (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id    INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
    local        TEXT NOT NULL,            -- lower case
    display_name TEXT NOT NULL DEFAULT '',
    hidden       INTEGER NOT NULL DEFAULT 0, -- not listed in the address book
    created      INTEGER NOT NULL
);
CREATE UNIQUE INDEX mail_group_address ON mail_group(domain_id, local);

CREATE TABLE mail_group_member (
    group_id  INTEGER NOT NULL REFERENCES mail_group(id) ON DELETE CASCADE,
    address   TEXT NOT NULL,               -- lower case
    PRIMARY KEY (group_id, address)
) WITHOUT ROWID;

-- Small facts about the store itself. 'fts_backfill' = 'pending' while mail stored
-- before the full-text index has not all been indexed: until then the index cannot
-- narrow a search (an IMAP SEARCH reads every message), and IndexBacklog removes the
-- row when it is done.
CREATE TABLE store_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO store_state(key, value)
    SELECT 'fts_backfill', 'pending' WHERE EXISTS (SELECT 1 FROM item WHERE class = 'mail');

-- IMAP SEARCH and STATUS by flags (UNSEEN, FLAGGED…) and keywords read the index, not
-- the rows.
CREATE INDEX item_flags ON item(account_id, folder_id, flags, uid);
CREATE INDEX item_keywords ON item(account_id, folder_id, keywords) WHERE keywords <> '';
