-- API keys with a scope: 'read' keys read a server with TESSERA_PRIVATE_READS (a public map's
-- page may hold one), 'write' keys also upload, re-parse, delete and edit legends, as every
-- key did before. Existing keys keep writing.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));

-- +goose Down
-- Read keys go with the column: without it every key writes, and the Up that follows (serve,
-- ingest and worker migrate at start) would make each a write key. A page's read key must not
-- turn into one that deletes layers; its owner makes a new one after the Up.
DELETE FROM api_keys WHERE scope <> 'write';
ALTER TABLE api_keys DROP COLUMN scope;
