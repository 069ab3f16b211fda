-- Schema 2: indexes for every sortable column of the case list, so sorting 100,000 cases
-- never sorts in memory.
CREATE INDEX cases_by_title ON cases(title COLLATE NOCASE);
CREATE INDEX cases_by_status ON cases(status, updated_hlc);
CREATE INDEX cases_by_opened ON cases(opened_on);
CREATE INDEX cases_by_lead_office ON cases(lead_office);
