-- Schema 5: the case list reads each page after the last case of the one before (keyset
-- paging), in the order of one column and then the case id. These indexes hold exactly
-- that order, so the 500th page is read as fast as the first and no sort of 100,000 rows
-- runs in memory. Sorting by status used to sort each status group (0.1-0.5 s a page);
-- OFFSET paging walked every row before the page (0.17-0.5 s at the end of the list).
DROP INDEX IF EXISTS cases_by_reference;
DROP INDEX IF EXISTS cases_by_updated;
DROP INDEX IF EXISTS cases_by_title;
DROP INDEX IF EXISTS cases_by_opened;
DROP INDEX IF EXISTS cases_by_lead_office;
CREATE INDEX cases_by_reference ON cases(reference, id);
CREATE INDEX cases_by_updated ON cases(updated_hlc, id);
CREATE INDEX cases_by_title ON cases(title COLLATE NOCASE, id);
CREATE INDEX cases_by_opened ON cases(opened_on, id);
CREATE INDEX cases_by_lead_office ON cases(lead_office, id);
CREATE INDEX cases_by_status_id ON cases(status, id);
-- Counting the cases that are not withdrawn (the list's total, reread on every sort and
-- filter) reads this small index instead of every row: 4 ms instead of 25 ms at 100,000.
CREATE INDEX cases_by_withdrawn ON cases(withdrawn);
