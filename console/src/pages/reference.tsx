/** The admin API's reference, read from its OpenAPI document (/admin/openapi.json). */
import { api } from "../api";
import { ErrorLine, useLoad } from "../ui";

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  requestBody?: { content: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { description: string }>;
}
interface Document {
  info: { title: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

export function ReferencePage() {
  const doc = useLoad(() => api<Document>("GET", "/admin/openapi.json"), []);
  const ops = Object.entries(doc.data?.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const tags = [...new Set(ops.map((o) => o.op.tags?.[0] ?? "other"))];
  return (
    <section>
      <h2>Admin API reference</h2>
      <p>
        The OpenAPI 3.1 document: <a href="/admin/openapi.json">/admin/openapi.json</a>. {doc.data?.info.description}
      </p>
      <ErrorLine error={doc.error} />
      {tags.map((tag) => (
        <div class="tag">
          <h3>{tag}</h3>
          {ops
            .filter((o) => (o.op.tags?.[0] ?? "other") === tag)
            .map(({ path, method, op }) => {
              const json = op.requestBody?.content["application/json"];
              return (
                <details class="operation" data-operation={`${method.toUpperCase()} ${path}`}>
                  <summary>
                    <code class={`method ${method}`}>{method.toUpperCase()}</code> <code>{path}</code> {op.summary}
                  </summary>
                  {op.description ? <p>{op.description}</p> : null}
                  {json?.schema ? <pre>{JSON.stringify(json.schema, null, 2)}</pre> : null}
                  {json?.examples
                    ? Object.entries(json.examples).map(([name, ex]) => (
                        <div>
                          <p class="muted">Example {name}</p>
                          <pre>{JSON.stringify(ex.value, null, 2)}</pre>
                        </div>
                      ))
                    : null}
                  <ul>
                    {Object.entries(op.responses).map(([status, r]) => (
                      <li>
                        {status}: {r.description}
                      </li>
                    ))}
                  </ul>
                </details>
              );
            })}
        </div>
      ))}
    </section>
  );
}
