-- Gatehouse store, schema 5: small messages kept in the blob row.

-- A blob of up to the store's inline limit (32 KiB by default) keeps its bytes here and
-- has no file: it becomes durable with the transaction that references it, one device
-- flush instead of three (the file's, its directory's, the commit's). NULL: the bytes
-- are the file blobs/<first two hex digits>/<hash>, as before.
ALTER TABLE blob ADD COLUMN data BLOB;
