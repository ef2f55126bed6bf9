-- The leader epoch each zone commit was made under (issue 11): shows that no
-- commit of a deposed leader ever landed. NULL: a store without elections.
ALTER TABLE journal ADD COLUMN epoch bigint;
