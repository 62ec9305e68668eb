-- Gatehouse store, schema 7: the full-text index rebuilt with the text IMAP SEARCH BODY
-- looks through (message.SearchText: every text part, attached messages' included,
-- HTML as a reader sees it; a body cut at the index's limit carries a mark).

-- The index had only the inline text/plain body (else the HTML's text), so a message
-- whose words stood in an attached message or a text attachment was left out of the
-- candidates of a BODY search. Its rows are all made again: the table is emptied and
-- the backfill at start (Store.IndexBacklog) indexes every mail item anew; until it is
-- done the index narrows nothing.
DROP TABLE item_fts;
CREATE VIRTUAL TABLE item_fts USING fts5(
    subject, addresses, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT OR REPLACE INTO store_state(key, value)
    SELECT 'fts_backfill', 'pending' WHERE EXISTS (SELECT 1 FROM item WHERE class = 'mail');
