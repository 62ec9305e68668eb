-- Gatehouse store, schema 3: Exchange ActiveSync device state (DESIGN.md §2, EAS state).
-- The state is owned by activesync/ and opaque here (versioned JSON in the state columns);
-- what the store needs to query lives in columns: the device, the per-collection
-- generation for compare-and-swap, and the known set, which is the sync state itself
-- (§2 invariant 4). Sync-state writes take no modseq.

CREATE TABLE eas_device (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    device_id           TEXT NOT NULL,
    device_type         TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT '',
    protocol_version    TEXT NOT NULL DEFAULT '',
    policy_key          INTEGER NOT NULL DEFAULT 0,
    pending_policy_key  INTEGER NOT NULL DEFAULT 0,
    -- 0 none, 1 wipe requested, 2 account-only wipe requested, 3 wipe acknowledged
    wipe                INTEGER NOT NULL DEFAULT 0,
    info                TEXT NOT NULL DEFAULT '',
    state               BLOB NOT NULL DEFAULT '',
    first_seen          INTEGER NOT NULL,
    last_seen           INTEGER NOT NULL,
    last_sync           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX eas_device_key ON eas_device(account_id, device_id);

CREATE TABLE eas_collection (
    device          INTEGER NOT NULL REFERENCES eas_device(id) ON DELETE CASCADE,
    folder_id       INTEGER NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 0,
    state           BLOB NOT NULL DEFAULT '',
    PRIMARY KEY (device, folder_id)
) WITHOUT ROWID;

-- What a device holds: one row per item it was sent, with the modseq it was sent at.
CREATE TABLE eas_known (
    device          INTEGER NOT NULL REFERENCES eas_device(id) ON DELETE CASCADE,
    folder_id       INTEGER NOT NULL,
    item_id         INTEGER NOT NULL,
    sent_modseq     INTEGER NOT NULL,
    PRIMARY KEY (device, folder_id, item_id)
) WITHOUT ROWID;

CREATE INDEX item_date ON item(account_id, folder_id, internal_date);
