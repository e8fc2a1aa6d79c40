-- One row per model request; times in milliseconds since the Unix epoch (UTC).
CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    conversation TEXT,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    ttft_ms REAL,
    total_ms REAL NOT NULL,
    tokens_per_second REAL NOT NULL,
    error TEXT,
    cost REAL NOT NULL
);
CREATE INDEX usage_events_at ON usage_events (at_ms);
CREATE INDEX usage_events_model ON usage_events (model, at_ms);

-- The tool calls a request asked for, with how they went.
CREATE TABLE tool_uses (
    event_id INTEGER NOT NULL REFERENCES usage_events (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    success INTEGER NOT NULL,
    duration_ms REAL NOT NULL
);
CREATE INDEX tool_uses_event ON tool_uses (event_id);
