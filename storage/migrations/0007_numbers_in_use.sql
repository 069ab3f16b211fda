-- Schema 7: new case references, pseudonyms and evidence numbers continue after the
-- highest number known in the workspace (a workspace restored from a backup gets its later
-- records back from peers and must not give their numbers again). Each index keys a value
-- by its series (the value without its trailing digits: VAR-KAB-2027-, W-, VAR-KAB-0001-)
-- and the number those digits make, so the highest number of a series is one index seek
-- (storage.queries.highest_number); the expressions there must stay exactly these.
CREATE INDEX cases_by_reference_number ON cases(
    rtrim(reference, '0123456789'),
    CAST(substr(reference, length(rtrim(reference, '0123456789')) + 1) AS INTEGER)
);
CREATE INDEX persons_by_pseudonym_number ON persons(
    rtrim(pseudonym, '0123456789'),
    CAST(substr(pseudonym, length(rtrim(pseudonym, '0123456789')) + 1) AS INTEGER)
);
CREATE INDEX evidence_by_ern_number ON evidence(
    rtrim(ern, '0123456789'),
    CAST(substr(ern, length(rtrim(ern, '0123456789')) + 1) AS INTEGER)
);
