-- Imported usage without the record ids the import made up: a block whose every record has
-- one, `file-<fingerprint>-<line>` with lines rising by one from the first record's, keeps
-- its text with the id cells empty and the two numbers here (the fingerprint as its 16
-- hexadecimal digits, as in the ids). Record n (from 0) of such a block has the id
-- 'file-' || made_up_fingerprint || '-' || (made_up_first + n). Other blocks keep their ids
-- in the text, these columns NULL.
ALTER TABLE usage_blocks ADD COLUMN made_up_fingerprint TEXT
    CHECK (made_up_fingerprint IS NULL OR length(made_up_fingerprint) = 16);
ALTER TABLE usage_blocks ADD COLUMN made_up_first INTEGER;
