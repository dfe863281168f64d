/**
 * Explain: the decision the gateway would make on a request (POST /admin/explain), asked with a form (a method, a
 * path, headers as rows, a body written as GraphQL, JSON checked as it is typed, or text) and answered in words; the
 * raw answer stays behind a toggle. The gateway's problems with a field are shown beside that field.
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import { explainInWords, jsonProblem, type Explanation } from "../model";
import { ErrorLine, Field, problemOf } from "../ui";

type BodyKind = "graphql" | "json" | "text";
interface Header {
  name: string;
  value: string;
}
interface Draft {
  method: string;
  path: string;
  headers: Header[];
  kind: BodyKind;
  query: string;
  variables: string;
  body: string;
}

/** Requests to start from, one per engine: each fills the whole form. */
const EXAMPLES: Record<string, { label: string; draft: Draft }> = {
  prefectMutation: {
    label: "Prefect: a mutation",
    draft: {
      method: "POST",
      path: "/prefect/graphql",
      headers: [{ name: "content-type", value: "application/json" }],
      kind: "graphql",
      query: 'mutation {\n  delete_flow(input: { flow_id: "x" }) {\n    success\n  }\n}',
      variables: "",
      body: "",
    },
  },
  prefectQuery: {
    label: "Prefect: a query",
    draft: {
      method: "POST",
      path: "/prefect/graphql",
      headers: [{ name: "content-type", value: "application/json" }],
      kind: "graphql",
      query: "query ($limit: Int) {\n  flow(limit: $limit) {\n    id\n    name\n  }\n}",
      variables: '{"limit": 10}',
      body: "",
    },
  },
  conductorStart: {
    label: "Conductor: start a workflow",
    draft: {
      method: "POST",
      path: "/conductor/api/workflow/hello?version=1",
      headers: [{ name: "content-type", value: "application/json" }],
      kind: "json",
      query: "",
      variables: "",
      body: '{\n  "who": "world"\n}',
    },
  },
  argoList: {
    label: "Argo: list a namespace's workflows",
    draft: { method: "GET", path: "/argo/api/v1/workflows/team-a", headers: [], kind: "text", query: "", variables: "", body: "" },
  },
  whoami: {
    label: "Who am I",
    draft: { method: "GET", path: "/whoami", headers: [], kind: "text", query: "", variables: "", body: "" },
  },
};

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const hasBody = (method: string) => method !== "GET" && method !== "HEAD";

/** The body the form describes, or the problem that keeps it from being one, in words. */
export function bodyOf(d: Draft): { body?: string; problem?: { field: "query" | "variables" | "body"; words: string } } {
  if (!hasBody(d.method)) return {};
  if (d.kind === "graphql") {
    if (!d.query.trim()) return { problem: { field: "query", words: "is empty: write the GraphQL operation" } };
    let variables: unknown;
    if (d.variables.trim()) {
      const p = jsonProblem(d.variables);
      if (p) return { problem: { field: "variables", words: `are not JSON: ${p}` } };
      variables = JSON.parse(d.variables);
    }
    return { body: JSON.stringify(variables === undefined ? { query: d.query } : { query: d.query, variables }) };
  }
  if (d.kind === "json") {
    if (!d.body.trim()) return {};
    const p = jsonProblem(d.body);
    return p ? { problem: { field: "body", words: `is not JSON: ${p}` } } : { body: d.body };
  }
  return d.body === "" ? {} : { body: d.body };
}

export function ExplainPage() {
  const [by, setBy] = useState<"keyId" | "token">("keyId");
  const [credential, setCredential] = useState("");
  const [d, setD] = useState<Draft>(EXAMPLES.prefectMutation!.draft);
  const [answer, setAnswer] = useState<Explanation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<unknown>(null);
  const set = (patch: Partial<Draft>) => setD({ ...d, ...patch });
  const built = bodyOf(d);
  const setHeader = (i: number, patch: Partial<Header>) => set({ headers: d.headers.map((h, j) => (j === i ? { ...h, ...patch } : h)) });
  const submit = (e: Event) => {
    e.preventDefault();
    if (built.problem) return;
    const headers = Object.fromEntries(d.headers.filter((h) => h.name.trim() !== "").map((h) => [h.name.trim(), h.value]));
    const request = {
      method: d.method,
      path: d.path,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(built.body !== undefined ? { body: built.body } : {}),
    };
    const question = { [by]: credential.trim(), request };
    // Shown back under the answer: a token is named, never repeated on the screen.
    setSent(by === "token" ? { token: "(the token given)", request } : question);
    api<Explanation>("POST", "/admin/explain", question).then(
      (a) => (setAnswer(a), setError(null)),
      (e: unknown) => (setAnswer(null), setError(e)),
    );
  };
  const problem = (...paths: string[]) => problemOf(error, ...paths);
  const jsonNote = (text: string, what: string) => {
    if (!text.trim()) return null;
    const p = jsonProblem(text);
    return p ? null : <span class="ok small">{what} is valid JSON.</span>;
  };
  return (
    <section>
      <h2>Explain a decision</h2>
      <p class="muted">
        Runs the request through the gateway's own checks and rewrites without sending anything upstream, counting it against a limit or
        writing the audit trail (the question itself is audited).
      </p>
      <form class="explain" onSubmit={submit} name="explain">
        <div class="row">
          <Field label="Start from">
            <select
              name="example"
              value=""
              onChange={(e) => {
                const ex = EXAMPLES[e.currentTarget.value];
                if (ex) setD(ex.draft);
              }}
            >
              <option value="">an example…</option>
              {Object.entries(EXAMPLES).map(([id, ex]) => (
                <option value={id}>{ex.label}</option>
              ))}
            </select>
          </Field>
          <Field label="Asked as">
            <select name="by" value={by} onChange={(e) => setBy(e.currentTarget.value as "keyId" | "token")}>
              <option value="keyId">a key (its id)</option>
              <option value="token">a token (JWT)</option>
            </select>
          </Field>
          <Field label={by === "keyId" ? "Key id" : "Token"} error={problem(by)} wide>
            <input
              name="credential"
              required
              value={credential}
              placeholder={by === "keyId" ? "fgk_abcdefabcdef, as the Keys page shows it" : "eyJhbGciOi…"}
              onInput={(e) => setCredential(e.currentTarget.value)}
            />
          </Field>
        </div>
        <div class="row">
          <Field label="Method" error={problem("request.method")}>
            <select name="method" value={d.method} onChange={(e) => set({ method: e.currentTarget.value })}>
              {METHODS.map((m) => (
                <option value={m}>{m}</option>
              ))}
            </select>
          </Field>
          <Field label="Path" error={problem("request.path", "request")} wide>
            <input name="path" required value={d.path} onInput={(e) => set({ path: e.currentTarget.value })} />
          </Field>
        </div>
        <fieldset class="headers" data-headers>
          <legend>Headers</legend>
          {d.headers.length === 0 ? <p class="muted small">None. The credential is never a header here: it is asked as above.</p> : null}
          {d.headers.map((h, i) => (
            <div class="header-row" data-header-row={i}>
              <input
                name={`header-name-${i}`}
                aria-label="header name"
                placeholder="name"
                value={h.name}
                onInput={(e) => setHeader(i, { name: e.currentTarget.value })}
              />
              <input
                name={`header-value-${i}`}
                aria-label="header value"
                placeholder="value"
                value={h.value}
                onInput={(e) => setHeader(i, { value: e.currentTarget.value })}
              />
              <button type="button" onClick={() => set({ headers: d.headers.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" name="add-header" onClick={() => set({ headers: [...d.headers, { name: "", value: "" }] })}>
            Add a header
          </button>
          {problem("request.headers") ? (
            <span class="field-error" role="alert" data-field-error>
              Headers: {problem("request.headers")}
            </span>
          ) : null}
        </fieldset>
        {hasBody(d.method) ? (
          <fieldset class="body">
            <legend>Body</legend>
            <div class="row">
              <Field label="Written as">
                <select name="kind" value={d.kind} onChange={(e) => set({ kind: e.currentTarget.value as BodyKind })}>
                  <option value="graphql">GraphQL (query and variables; sent as JSON)</option>
                  <option value="json">JSON</option>
                  <option value="text">text, as is</option>
                </select>
              </Field>
            </div>
            {d.kind === "graphql" ? (
              <div class="row">
                <Field label="Query" error={built.problem?.field === "query" ? built.problem.words : problem("request.body")} wide>
                  <textarea
                    name="query"
                    rows={7}
                    spellcheck={false}
                    value={d.query}
                    onInput={(e) => set({ query: e.currentTarget.value })}
                  />
                </Field>
                <Field
                  label="Variables (JSON, optional)"
                  error={built.problem?.field === "variables" ? built.problem.words : undefined}
                  wide
                >
                  <textarea
                    name="variables"
                    rows={7}
                    spellcheck={false}
                    value={d.variables}
                    onInput={(e) => set({ variables: e.currentTarget.value })}
                  />
                  {jsonNote(d.variables, "The variables are")}
                </Field>
              </div>
            ) : (
              <>
                <div class="row">
                  <Field label="Body" error={built.problem?.field === "body" ? built.problem.words : problem("request.body")} wide>
                    <textarea
                      name="body"
                      rows={6}
                      spellcheck={false}
                      value={d.body}
                      onInput={(e) => set({ body: e.currentTarget.value })}
                    />
                  </Field>
                </div>
                {d.kind === "json" ? (
                  <div class="row">
                    {jsonNote(d.body, "The body is")}
                    <button
                      type="button"
                      name="format"
                      disabled={!!jsonProblem(d.body)}
                      onClick={() => set({ body: JSON.stringify(JSON.parse(d.body), null, 2) })}
                    >
                      Format JSON
                    </button>
                  </div>
                ) : null}
              </>
            )}
          </fieldset>
        ) : (
          <p class="muted small">A {d.method} request carries no body.</p>
        )}
        <button type="submit" disabled={!!built.problem}>
          Explain
        </button>
      </form>
      <ErrorLine error={error} beside={[by, "request.method", "request.path", "request.headers", "request.body", "request"]} />
      {answer ? <Answer a={answer} question={sent} /> : null}
    </section>
  );
}

function Answer({ a, question }: { a: Explanation; question: unknown }) {
  const words = explainInWords(a);
  return (
    <div class="answer" data-decision={a.decision}>
      <h3 class={`verdict ${a.decision}`} data-verdict>
        {words.verdict}
      </h3>
      <ul class="why">
        {words.why.map((line) => (
          <li>{line}</li>
        ))}
      </ul>
      {a.reason.refusedFields?.length ? (
        <p>
          Refused:{" "}
          {a.reason.refusedFields.map((f) => (
            <code class="refused-field">{f}</code>
          ))}
        </p>
      ) : null}
      {a.upstream ? (
        <div>
          <h4>The upstream would receive</h4>
          <p>
            <code>
              {a.upstream.method} {a.upstream.url}
            </code>
          </p>
          <p class="muted">Headers: {a.upstream.headerNames.join(", ")}</p>
          {a.upstream.body !== null ? <pre data-upstream-body>{pretty(a.upstream.body)}</pre> : null}
          {a.upstream.bodyTruncated ? <p class="muted">(body cut)</p> : null}
        </div>
      ) : null}
      <details class="raw">
        <summary>Raw question and answer (JSON)</summary>
        <pre data-raw-question>{JSON.stringify(question, null, 2)}</pre>
        <pre data-raw-answer>{JSON.stringify(a, null, 2)}</pre>
      </details>
    </div>
  );
}

const pretty = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};
