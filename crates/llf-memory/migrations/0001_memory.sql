-- Long-term memory: named stores, their memories, and an FTS5 index kept in sync by triggers.

CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- `seq` is the FTS5 rowid; `id` is the public, sortable ULID. Timestamps are fixed-width RFC 3339
-- UTC text, so text order is time order. A soft-deleted memory has `deleted_at` set and is absent
-- from the FTS index. `legacy_id` remembers the id of an imported Python-era record, which makes
-- migration idempotent.
CREATE TABLE memories (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    store_id INTEGER NOT NULL REFERENCES stores(id),
    content TEXT NOT NULL CHECK (length(content) > 0),
    tags TEXT NOT NULL DEFAULT '[]',
    importance REAL NOT NULL CHECK (importance >= 0.0 AND importance <= 1.0),
    access_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    legacy_id TEXT
);

CREATE INDEX memories_by_store_created ON memories(store_id, created_at);
CREATE UNIQUE INDEX memories_by_legacy_id ON memories(store_id, legacy_id) WHERE legacy_id IS NOT NULL;
CREATE INDEX memories_deleted ON memories(deleted_at) WHERE deleted_at IS NOT NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5(
    content,
    content = 'memories',
    content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO memories_fts(rowid, content) VALUES (new.seq, new.content);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;

-- Content edits, soft delete and restore; access-count updates do not touch the index.
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, deleted_at ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, content)
        SELECT 'delete', old.seq, old.content WHERE old.deleted_at IS NULL;
    INSERT INTO memories_fts(rowid, content)
        SELECT new.seq, new.content WHERE new.deleted_at IS NULL;
END;
