-- Gatehouse store, schema 6: the first message of a folder not yet shown as \Recent.

-- RFC 3501 2.3.2: a message is \Recent in the first read-write IMAP4rev1 session told
-- of it, whether or not a session had the folder selected when it arrived and across
-- restarts. Uids from first_recent_uid up are still unclaimed. Existing folders start
-- with nothing recent, new ones with everything they will receive.
ALTER TABLE folder ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
UPDATE folder SET first_recent_uid = uidnext;
