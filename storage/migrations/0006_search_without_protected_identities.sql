-- Schema 6: a search hit never shows whom a pseudonym hides. The legal name of a protected
-- person was in the title of its index row, which hits display ("W-0042 Amina Kofi"). The
-- rows of protected persons are written again with the pseudonym alone as title and the
-- identity in the body, still searchable but never shown (storage.search does the same
-- from now on, and gives protected persons' hits no snippet).
DELETE FROM search_index WHERE rowid IN (
    SELECT d.rowid FROM search_docs d JOIN persons p ON p.id = d.entity_id
    WHERE d.entity = 'person' AND p.protection != 'none'
);
INSERT INTO search_index(rowid, title, body)
    SELECT d.rowid, p.pseudonym, trim(p.legal_name || ' ' || p.aliases || ' ' || p.role)
    FROM search_docs d JOIN persons p ON p.id = d.entity_id
    WHERE d.entity = 'person' AND p.protection != 'none';
