-- Gatehouse store, schema 2: the SMTP outbound queue and per-domain DKIM keys.
-- A queued message is one refcounted blob (the same blob table as mailbox items) and
-- one row per remote recipient still to be delivered; a recipient row disappears in the
-- transaction that records its delivery or its bounce, so a crash leaves each recipient
-- either still queued or done (DESIGN.md §2 invariant 6).

CREATE TABLE queue_msg (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_hash   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    -- the envelope sender; '' is the null sender (a bounce, which is never bounced)
    mail_from   TEXT NOT NULL,
    -- the submitting account, 0 when Gatehouse itself sends (a DSN)
    account_id  INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL
);

CREATE TABLE queue_rcpt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id       INTEGER NOT NULL REFERENCES queue_msg(id) ON DELETE CASCADE,
    rcpt         TEXT NOT NULL,
    domain       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_rcpt_due ON queue_rcpt(next_attempt);
CREATE INDEX queue_rcpt_msg ON queue_rcpt(msg_id);

-- One DKIM signing key per hosted domain (RFC 6376), kept when the domain is deleted so
-- that re-adding it does not invalidate the published DNS record.
CREATE TABLE dkim_key (
    domain      TEXT PRIMARY KEY COLLATE NOCASE,
    selector    TEXT NOT NULL,
    -- PKCS #8 DER private key
    private_key BLOB NOT NULL,
    created     INTEGER NOT NULL
);
