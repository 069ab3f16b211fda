-- Schema 7: new pseudonyms and evidence numbers continue after the highest one known in the
-- workspace (a workspace restored from a backup gets its later records back from peers and
-- must not give their numbers again); these indexes let that be read without a table scan.
-- Case references already have one (cases_by_reference).
CREATE INDEX persons_by_pseudonym ON persons(pseudonym);
CREATE INDEX evidence_by_ern ON evidence(ern);
