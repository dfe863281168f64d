-- Issue 27 (one vocabulary): decisions are "allowed" / "refused", admin actions "done", everywhere (API, console,
-- explain, logs, docs). Rows written before keep their meaning in the new words. Another migration numbered 0003
-- may exist on another branch: this one only rewrites values, so its order against a schema change is free.
UPDATE "audit_events" SET "decision" = CASE "decision" WHEN 'ALLOWED' THEN 'allowed' WHEN 'BLOCKED' THEN 'refused' WHEN 'DONE' THEN 'done' ELSE "decision" END
WHERE "decision" IN ('ALLOWED', 'BLOCKED', 'DONE');
