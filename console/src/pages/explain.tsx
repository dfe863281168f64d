/** Explain: the decision the gateway would make on a request, laid out (POST /admin/explain). */
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorLine, Field } from "../ui";

interface Explanation {
  decision: "allowed" | "refused";
  status: number | null;
  principal: { kind: string; subject: string; tenant?: string; scopes: string[]; roles: string[]; groups: string[]; keyId?: string } | null;
  reason: { code: string; message: string; refusedFields?: string[] } & Record<string, unknown>;
  upstream: { method: string; url: string; headerNames: string[]; body: string | null; bodyTruncated: boolean } | null;
  audits: { action: string; decision: string }[];
  limits: Record<string, unknown>[];
}

const pretty = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

export function ExplainPage() {
  const [by, setBy] = useState<"keyId" | "token">("keyId");
  const [credential, setCredential] = useState("");
  const [method, setMethod] = useState("POST");
  const [path, setPath] = useState("/prefect/graphql");
  const [headers, setHeaders] = useState('{"content-type": "application/json"}');
  const [body, setBody] = useState('{"query": "mutation { delete_flow(input: {flow_id: \\"x\\"}) { success } }"}');
  const [answer, setAnswer] = useState<Explanation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    let parsedHeaders: Record<string, string> | undefined;
    try {
      parsedHeaders = headers.trim() ? (JSON.parse(headers) as Record<string, string>) : undefined;
    } catch {
      setError("Headers must be a JSON object of names to values.");
      return;
    }
    const request = { method, path, ...(parsedHeaders ? { headers: parsedHeaders } : {}), ...(body && method !== "GET" ? { body } : {}) };
    api<Explanation>("POST", "/admin/explain", { [by]: credential.trim(), request }).then(
      (a) => (setAnswer(a), setError(null)),
      (e: unknown) => (setAnswer(null), setError(e)),
    );
  };
  return (
    <section>
      <h2>Explain a decision</h2>
      <p class="muted">
        Runs the request through the gateway's own checks and rewrites without sending anything upstream or writing the audit trail.
      </p>
      <form class="explain" onSubmit={submit} name="explain">
        <Field label="Credential">
          <select name="by" value={by} onChange={(e) => setBy(e.currentTarget.value as "keyId" | "token")}>
            <option value="keyId">key id</option>
            <option value="token">token (JWT)</option>
          </select>
        </Field>
        <Field label={by === "keyId" ? "Key id" : "Token"}>
          <input name="credential" required value={credential} onInput={(e) => setCredential(e.currentTarget.value)} />
        </Field>
        <Field label="Method">
          <select name="method" value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
            {["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </Field>
        <Field label="Path">
          <input name="path" required value={path} onInput={(e) => setPath(e.currentTarget.value)} />
        </Field>
        <Field label="Headers (JSON)">
          <textarea name="headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
        </Field>
        <Field label="Body">
          <textarea name="body" rows={5} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </Field>
        <button type="submit">Explain</button>
      </form>
      <ErrorLine error={error} />
      {answer ? <Answer a={answer} /> : null}
    </section>
  );
}

function Answer({ a }: { a: Explanation }) {
  return (
    <div class="answer" data-decision={a.decision}>
      <h3 class={`verdict ${a.decision}`}>
        {a.decision === "allowed" ? "Allowed" : `Refused${a.status ? ` (${a.status})` : ""}`}: {a.reason.code}
      </h3>
      <p data-reason>{a.reason.message}</p>
      {a.reason.refusedFields?.length ? (
        <p>
          Refused fields:{" "}
          {a.reason.refusedFields.map((f) => (
            <code class="refused-field">{f}</code>
          ))}
        </p>
      ) : null}
      {a.principal ? (
        <dl>
          <dt>Principal</dt>
          <dd>
            {a.principal.subject} ({a.principal.kind}
            {a.principal.tenant ? `, tenant ${a.principal.tenant}` : ""})
          </dd>
          <dt>Scopes</dt>
          <dd>{a.principal.scopes.join(" ") || "none"}</dd>
          <dt>Roles and groups</dt>
          <dd>{[...a.principal.roles, ...a.principal.groups].join(", ") || "none"}</dd>
        </dl>
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
      {a.audits.length ? <p>Would audit: {a.audits.map((x) => `${x.action} ${x.decision}`).join(", ")}</p> : null}
      {a.limits.length ? <p>Counts against: {a.limits.map((l) => JSON.stringify(l)).join(", ")}</p> : null}
    </div>
  );
}
