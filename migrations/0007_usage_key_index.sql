-- Issue 27 (the console's key page): a key's last use and usage are read from its usage cells; this index makes
-- that three lookups rather than a scan. Usage is written in batches (src/ratelimit/usage.ts), never per request.
CREATE INDEX "usage_counters_key_idx" ON "usage_counters" USING btree ("key_id","resolution","bucket_start");