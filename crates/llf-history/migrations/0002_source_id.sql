-- Where an imported conversation came from (`chatgpt:<id>`, `llf:<id>`), so that importing the
-- same export twice is recognised. Not unique: a deliberate second copy keeps the same origin.
ALTER TABLE conversations ADD COLUMN source_id TEXT;
CREATE INDEX conversations_source ON conversations(source_id) WHERE source_id IS NOT NULL;
