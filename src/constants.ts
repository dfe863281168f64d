/**
 * Every fixed number flowgate relies on, with the reason for its value. Values an operator may need to change
 * are configuration variables instead (src/config.ts).
 */

/** Entries in the in-isolate key cache. A record is ~1 KB, so 5,000 entries stay far below the 128 MB isolate. */
export const MEMORY_CACHE_MAX_ENTRIES = 5_000;

/**
 * Entries in the in-isolate "no such key" cache. Kept apart from the positive cache so a flood of bad keys evicts
 * only other bad keys, never a working one.
 */
export const NEGATIVE_CACHE_MAX_ENTRIES = 10_000;

/** A cache fill or admin query that takes longer than this counts as "database unavailable" (503, never allow). */
export const DB_QUERY_TIMEOUT_MS = 5_000;

/** Longest credential accepted: JWTs with many roles stay far below 8 KB; anything larger is refused unparsed. */
export const MAX_CREDENTIAL_LENGTH = 8_192;

/** Longest legacy (imported Prefect) key considered at all. */
export const MAX_LEGACY_KEY_LENGTH = 256;

/**
 * JWKS: keys count as fresh for 10 minutes (JWT_JWKS_CACHE_TTL_S), a token naming an unknown `kid` refetches at
 * most every 30 s; when the URL is down, the last keys fetched keep verifying (src/identity/jwt.ts).
 */
export const JWKS_CACHE_MAX_AGE_MS = 600_000;
export const JWKS_COOLDOWN_MS = 30_000;
export const JWKS_FETCH_TIMEOUT_MS = 5_000;

/** How often an isolate re-reads the log-level override from KV: bounds how long a new level takes to spread. */
export const LOG_LEVEL_REFRESH_MS = 10_000;

/** Default grace period of a rotated key: long enough to roll a credential out to a fleet of workers. */
export const DEFAULT_ROTATION_GRACE_S = 3_600;
export const MAX_ROTATION_GRACE_S = 30 * 86_400;

/**
 * Rows of the replaced Prefect proxy's key table per `POST /admin/keys/import-prefect`: each row is a hash and two
 * queries, so a batch stays well inside one request's time and the admin body limit (64 KiB); the CLI sends a
 * larger table in batches of this size.
 */
export const PREFECT_IMPORT_MAX_ROWS = 100;

/**
 * Cron purge: KV keys listed per page (KV's maximum), and pages per run. Each deletion is a subrequest; 4 pages of
 * deletions stay within the paid plan's 1,000 subrequests, and a run resumes where the last stopped.
 */
export const CRON_KV_LIST_LIMIT = 1_000;
export const CRON_MAX_PAGES_PER_RUN = 4;
/** Deletions run this many at a time (Workers allow 6 simultaneous outgoing connections). */
export const CRON_DELETE_CONCURRENCY = 6;

/** Audit events older than this are pruned by the cron (overridable by AUDIT_RETENTION_DAYS). */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;

/**
 * Identical refusals (same decision, action, code, engine, route, principal or anonymous client) within one window
 * of this length are one audit row with a count (src/audit.ts). A minute keeps a flood to one row per minute and
 * kind while an operator still sees when it started and stopped (the row's first and last times).
 */
export const AUDIT_AGGREGATION_WINDOW_MS = 60_000;

/**
 * How long the first audit event of a quiet moment waits before its batch is written (AUDIT_FLUSH_MS): long enough
 * that a burst shares one INSERT (and its refusals one row), short enough that the rows are readable at once. The
 * wait is the request's waitUntil, never its answer's.
 */
export const DEFAULT_AUDIT_FLUSH_MS = 200;

/** Longest aggregation key stored as it is (src/audit.ts); PostgreSQL's btree refuses index entries past ~2,700 bytes. */
export const AUDIT_DEDUPE_KEY_MAX_CHARS = 600;

/**
 * Distinct anonymous clients (by address fingerprint) an isolate keeps apart in one window; refusals of any further
 * client in that window share one row. So a flood from many addresses (a botnet's bad keys) still adds a bounded
 * number of rows a window: this many per isolate and kind, plus one.
 */
export const AUDIT_ANONYMOUS_CLIENTS_PER_WINDOW = 100;

/** Rows an NDJSON audit export reads per database query, and at most in all (an export past it ends with a note). */
export const AUDIT_EXPORT_PAGE_ROWS = 500;
export const AUDIT_EXPORT_MAX_ROWS = 100_000;

/**
 * Cached GraphQL analyses (root fields of a document, not decisions), keyed by the document's text: enough for
 * every distinct document a UI and its CLIs send, at most 8 M characters (~16 MB) of keys, refreshed every 10 min.
 */
export const ANALYSIS_CACHE_MAX_ENTRIES = 2_000;
export const ANALYSIS_CACHE_MAX_CHARS = 8_000_000;
export const ANALYSIS_CACHE_TTL_MS = 600_000;

/**
 * Rewritten Conductor listings (src/engines/conductor/upstream.ts `listRewritten`), by upstream, path, tenant and
 * view: each entry holds the upstream's answer (to compare the next one with) and the rewritten JSON, about 2-3 MB
 * for the 1,000-definition listing the Conductor UI asks for. 24 MB (weighed as bytes plus two per character) keeps
 * about eight such views in an isolate of 128 MB; the expiry only gives the memory back, since every use compares
 * the upstream's bytes first.
 */
export const LISTING_CACHE_MAX_ENTRIES = 64;
export const LISTING_CACHE_MAX_WEIGHT = 24_000_000;
export const LISTING_CACHE_TTL_MS = 300_000;

/**
 * Default of MAX_UPSTREAM_ANSWER_BYTES: the largest Conductor (or Schellar) answer the gateway reads whole to parse
 * and rewrite. Measured (docs/benchmarks.md, "Hard edges: the largest listing"; bench/growthListing.ts): the
 * rewrite holds about 8 MB of V8 heap per MB of answer plus the answer's and the output's bytes, so a 10 MB listing
 * peaks near 110 MB and the 28.7 MB answer of 10,000 definitions needs more than 180 MB, past a Worker isolate's
 * 128 MB. 8 MiB peaks near 95 MB, leaving the isolate its code and caches. Larger answers get a clean 502.
 */
export const DEFAULT_MAX_UPSTREAM_ANSWER_BYTES = 8 * 1_048_576;

/** Page size bounds of admin listings. */
export const ADMIN_LIST_DEFAULT_LIMIT = 100;
export const ADMIN_LIST_MAX_LIMIT = 1_000;

/**
 * Bounds of the admin API's time series (`/admin/audit/counts`, `/admin/usage/series`): buckets in one answer (a day
 * of minutes, two months of hours), and names given their own series (the rest are summed as one).
 */
export const CHART_MAX_BUCKETS = 1_440;
export const USAGE_SERIES_DEFAULT_TOP = 8;
export const USAGE_SERIES_MAX_TOP = 25;

/** Request ids accepted from a client: short and plain, so they cannot forge log lines. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,64}$/;

/** Bounds on GraphQL documents, checked before any upstream sees them (GRAPHQL_MAX_* override each). */
export interface GraphQLLimits {
  /** Characters of one query document. */
  maxDocumentBytes: number;
  /** Lexical tokens of one document (graphql-js stops parsing beyond it). */
  maxTokens: number;
  /** Nesting of selection sets, fragments followed. */
  maxDepth: number;
  /** Aliased fields in one document. */
  maxAliases: number;
  /** Directives in one document. */
  maxDirectives: number;
  /**
   * Fields of the executed operation's selection once every fragment spread is expanded where it sits: what the
   * upstream will resolve, which a small document can multiply (fragments spreading fragments).
   */
  maxCost: number;
  /** Operations in one JSON batch. */
  maxBatch: number;
}

/**
 * Bracket nesting a GraphQL document may have beyond twice its selection depth: argument values (Prefect's
 * `where: {flow: {project_id: {_eq: $id}}}` filters nest four or five deep). See policy.ts maxNesting.
 */
export const GRAPHQL_VALUE_NESTING = 64;

/**
 * Defaults let every real Prefect UI operation through (the dashboard's FlowRuns query alone has 17 aliases and
 * is 4 KB) with room to spare, and stop documents built to exhaust the parser or the server. The costliest recorded
 * UI operation (the dashboard's FlowRuns) expands to 85 fields (test/engines/prefect/policy.test.ts measures all
 * 18); maxCost allows over twenty times that, while fragments each spreading the next twice double the cost per
 * fragment and are refused from the twelfth.
 */
export const DEFAULT_GRAPHQL_LIMITS: GraphQLLimits = {
  maxDocumentBytes: 65_536,
  maxTokens: 15_000,
  maxDepth: 15,
  maxAliases: 60,
  maxDirectives: 30,
  maxCost: 2_000,
  maxBatch: 25,
};

/**
 * Namespace of the Prefect tenant ids flowgate gives its tenants: a tenant's id is the name-based UUID (version 5,
 * RFC 9562) of its name under this namespace, so it is the same in every isolate, deployment and release without
 * being stored, and differs between tenants. The Prefect 1.x client requires a UUID there (`Client.tenant_id`).
 * Changing this constant changes every tenant's id: users would have to `prefect auth login` again.
 */
export const PREFECT_TENANT_NAMESPACE = "a805008c-5ac9-4a2c-833b-280f1c2532ae";

/**
 * How long the Prefect route trusts an id's tenant read back from the upstream (src/engines/prefect/owners.ts):
 * a row's tenant never changes once written, so this only bounds how long a deleted id is still known; short, so
 * an agent's burst of state updates for one run costs one pre-read, not one each.
 */
export const PREFECT_OWNER_CACHE_TTL_MS = 30_000;
/** Ids whose tenant each isolate remembers (about 100 bytes each). */
export const PREFECT_OWNER_CACHE_MAX_ENTRIES = 10_000;

/** A UUID in its canonical 8-4-4-4-12 hex form (any version; the Prefect client accepts any). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Lifetime of a Conductor SDK token (`POST /conductor/api/token`). The SDKs fetch a new one every 36 minutes in the
 * background and before any call once theirs is 45 minutes old (@io-orkes/conductor-javascript 4.x: TOKEN_TTL_MS,
 * refresh at 80% of it), and keep the old one while a refresh fails (backing off up to 60 s). Two hours outlast
 * the latest scheduled refresh by 75 minutes, so a worker rides out a gateway or database outage during a refresh;
 * past expiry the answer is 401 `EXPIRED_TOKEN`, on which the SDKs refresh and retry at once. Revoking or expiring
 * the key stops its tokens at once regardless: each request reads the key's current state.
 */
export const CONDUCTOR_TOKEN_TTL_S = 7_200;

/** Shortest accepted signing secret for gateway tokens: 32 characters (HS256 wants at least 256 bits). */
export const MIN_TOKEN_SECRET_LENGTH = 32;

/**
 * Longest wait a synchronous workflow execution (`POST /conductor/api/workflow/execute/...`) may ask of Conductor
 * (`waitForSeconds`): one Worker request holds the connection meanwhile. Longer runs: start, then read.
 */
export const MAX_SYNC_EXECUTE_WAIT_S = 30;

/**
 * Deepest nesting of arrays and objects accepted in any JSON a client sends (400 beyond). Far above any real
 * Conductor definition, Argo manifest, FlowAPI query or GraphQL variables (a few tens of levels), far below what a
 * recursive walk, `structuredClone` or `JSON.stringify` can take on a Worker's stack: a 10 KB body of nested `[`
 * would otherwise end in a stack overflow (500). Checked on the raw text before it is parsed.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Rate limits (src/ratelimit, docs/ratelimits.md). An isolate spends a lease of tokens taken from the counter
 * object and goes back to it when the lease is spent or older than RATE_LEASE_TTL_MS; unspent tokens are returned
 * then. The TTL bounds how long tokens granted under an old limit are still spent after a change (2 s), and how
 * long tokens sit unused in an isolate that went quiet. A lease is a tenth of what the bucket still holds (never
 * less than the request's cost), so leases shrink as the bucket drains and the last tokens are granted one by one.
 */
export const RATE_LEASE_TTL_MS = 2_000;
export const RATE_LEASE_DIVISOR = 10;
/** Leases held by one isolate (one per limit and pool); past it the oldest go, their tokens unused (never over). */
export const RATE_LEASE_MAX_ENTRIES = 10_000;
/** A counter object that has not answered in this long counts as unreachable (RATE_LIMIT_ON_UNAVAILABLE decides). */
export const RATE_COUNTER_TIMEOUT_MS = 1_000;
/** Retry-After given when a counter is unreachable and RATE_LIMIT_ON_UNAVAILABLE=refuse. */
export const RATE_UNAVAILABLE_RETRY_S = 5;
/** Rate windows an operator may set: one second to one day. Quotas cover a UTC day or a UTC month. */
export const RATE_WINDOW_MAX_S = 86_400;

/**
 * Usage: per-minute cells summed in each isolate and written in one batch at most every USAGE_FLUSH_INTERVAL_MS
 * (with the next request after it), as minute, hour and day rows at once. An isolate evicted before its next flush
 * loses at most that interval of its usage (the limits themselves are counted on the counter objects, not here).
 * Minute rows are kept 2 days, hour rows 35 days, day rows USAGE_RETENTION_DAYS (400); the cron prunes them.
 */
export const USAGE_FLUSH_INTERVAL_MS = 10_000;
export const USAGE_MAX_PENDING_CELLS = 20_000;
export const USAGE_MINUTE_RETENTION_DAYS = 2;
export const USAGE_HOUR_RETENTION_DAYS = 35;
export const DEFAULT_USAGE_RETENTION_DAYS = 400;

/**
 * What a request costs, in units of a limit. A plain request: 1. Prefect GraphQL: each executed root field its
 * weight (PREFECT_FIELD_COSTS overrides; `type/*` is the default of a type): mutations change state and start work,
 * so they weigh more than reads. Conductor: starting a workflow sets a whole execution going; a batch poll costs
 * its `count` (the tasks it may take).
 */
export const DEFAULT_PREFECT_FIELD_COSTS = "query/*=1,mutation/*=5,subscription/*=5,mutation/create_flow_run=10";
export const CONDUCTOR_START_COST = 5;
export const CONDUCTOR_WRITE_COST = 2;

/**
 * Browser sessions (src/identity/session.ts). A session idles out after 15 minutes without a request and ends 8
 * hours after sign-in whatever happens (SESSION_IDLE_TTL_S, SESSION_MAX_TTL_S): a working day, after which the
 * provider is asked again (silently when its own session still holds).
 */
export const SESSION_DEFAULT_IDLE_TTL_S = 900;
export const SESSION_DEFAULT_MAX_TTL_S = 28_800;
/** A sign-in must come back from the provider within 10 minutes; its `state` is single-use for that long. */
export const LOGIN_TRANSACTION_TTL_S = 600;
/** Longest return path kept across a sign-in: longer ones are dropped for `/`. */
export const MAX_RETURN_PATH_LENGTH = 2_048;
/**
 * The provider's discovery document is re-read after an hour. Its signing keys are oauth4webapi's to cache: fresh
 * for 5 minutes, refetched sooner for a token naming a key it does not hold once they are a minute old.
 */
export const OIDC_DISCOVERY_TTL_MS = 3_600_000;
/** Token endpoint, discovery and key calls give up after 10 s: a sign-in then fails with 502, it never hangs. */
export const OIDC_FETCH_TIMEOUT_MS = 10_000;
/**
 * Largest answer read from the provider (discovery document, key set, token answer): real ones are a few KB (a
 * key set with a dozen RSA keys is about 6 KB); a larger one is refused with 502 rather than held.
 */
export const OIDC_MAX_ANSWER_BYTES = 262_144;
/**
 * Largest session cookie value issued: browsers keep at least 4,096 bytes per cookie (name, value and attributes
 * together) and silently drop a larger one, which would send the browser round through sign-in again and again.
 */
export const MAX_SESSION_COOKIE_BYTES = 3_900;

/**
 * Upstream assertions (src/proxy/assertion.ts, docs/security.md "Engines trust only the gateway"). An assertion is
 * valid for 2 minutes: long enough for a slow upstream to receive it and for a few seconds of clock difference
 * between the Worker and the engine, short enough that a captured one is useless soon after. In `reuse` mode one
 * assertion serves a principal's calls to one engine for its first minute, so each one sent still has at least a
 * minute to run when it leaves the gateway, and a principal making requests all day costs one signature a minute per
 * engine and isolate. Per-request mode signs every call.
 */
export const UPSTREAM_ASSERTION_TTL_S = 120;
export const UPSTREAM_ASSERTION_REUSE_S = 60;
/**
 * Assertions kept for reuse in one isolate: one per principal and engine, each about 1 KB with its key, so 5,000
 * stay near 5 MB of the 128 MB isolate; past it the least recently used is signed again when next needed.
 */
export const UPSTREAM_ASSERTION_CACHE_MAX_ENTRIES = 5_000;
/**
 * Signing keys UPSTREAM_ASSERTION_KEYS may hold: the one that signs and the ones being rotated in or out. Verifiers
 * fetch them all on every JWKS refresh.
 */
export const UPSTREAM_ASSERTION_MAX_KEYS = 8;
/**
 * `Cache-Control: max-age` of `/.well-known/jwks.json`: a verifier (and any cache between) refetches within 5
 * minutes, which bounds the wait between publishing a new key and letting it sign (docs/security.md, rotation).
 */
export const JWKS_PUBLISH_MAX_AGE_S = 300;

/**
 * `POST /admin/explain`'s described request (src/admin/explain.ts): at most 100 headers of at most 64 KiB in all,
 * well inside what a client could send (Cloudflare refuses request headers beyond 128 KiB) and below the 1 MiB
 * question, so a question cannot be made mostly of headers.
 */
export const EXPLAIN_MAX_HEADERS = 100;
export const EXPLAIN_MAX_HEADER_BYTES = 65_536;

/**
 * Longest identity header value sent to an engine (`x-flowgate-*`, src/proxy/headers.ts): far above any real
 * subject, e-mail or name list, and well inside the header limits of the engines' servers (Tomcat's 8 KB default for
 * all headers together). A role or group list is cut at a whole name before this length.
 */
export const IDENTITY_HEADER_MAX_CHARS = 4_096;

/**
 * Tenants whose compiled form of one Prefect document is kept (src/engines/prefect/rewrite.ts): a dashboard document
 * is sent by the UIs of every tenant, and 64 covers a shared server's active tenants; past it the document's map is
 * emptied, and a miss costs one compile (a walk and a print of the document).
 */
export const PREFECT_COMPILED_TENANTS_MAX = 64;
