-- placeholder until the object log (branch api) is merged
SELECT 1;
