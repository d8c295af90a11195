-- Why an environment cannot take sessions (its workshop content could not be fetched);
-- '' when nothing is wrong.
ALTER TABLE environments ADD COLUMN failure TEXT NOT NULL DEFAULT '';
