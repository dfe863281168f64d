/** Tenants: the list, and adding one. */
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorLine, Field, problemOf, useLoad, when } from "../ui";

export function TenantsPage() {
  const tenants = useLoad(() => api<{ tenants: { name: string; createdAt: string }[] }>("GET", "/admin/tenants"), []);
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <section>
      <h2>Tenants</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          api("POST", "/admin/tenants", { name }).then(() => (setName(""), setError(null), tenants.reload()), setError);
        }}
      >
        <Field label="New tenant" error={problemOf(error, "name")}>
          <input name="tenant" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="submit">Add</button>
      </form>
      <ErrorLine error={error ?? tenants.error} beside={["name"]} />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(tenants.data?.tenants ?? []).map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{when(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
