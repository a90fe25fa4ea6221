-- API keys with a scope: 'read' keys read a server with TESSERA_PRIVATE_READS (a public map's
-- page may hold one), 'write' keys also upload, re-parse, delete and edit legends, as every
-- key did before. Existing keys keep writing.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));

-- +goose Down
ALTER TABLE api_keys DROP COLUMN scope;
