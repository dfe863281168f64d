/**
 * Argo workspaces, with their role policies edited as groups (a caller needs every role of any one group).
 * flowgate admins see every workspace; a workspace admin sees only the workspaces they administer.
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorLine, Field, list, problemOf, useLoad } from "../ui";

interface Workspace {
  name: string;
  roleGroups: string[][];
  hideForUnauthorized: boolean;
  description: string | null;
}

async function loadWorkspaces(isAdmin: boolean): Promise<Workspace[]> {
  if (isAdmin) return (await api<{ workspaces: Workspace[] }>("GET", "/admin/workspaces")).workspaces;
  // A workspace admin: the workspaces the gateway says they administer, each read through the admin API.
  const mine = await api<{ items: { name: string; isAdmin: boolean }[] }>("GET", "/argo/api/v1/workspaces");
  return Promise.all(
    mine.items.filter((w) => w.isAdmin).map((w) => api<Workspace>("GET", `/admin/workspaces/${encodeURIComponent(w.name)}`)),
  );
}

export function WorkspacesPage({ isAdmin }: { isAdmin: boolean }) {
  const workspaces = useLoad(() => loadWorkspaces(isAdmin), [isAdmin]);
  const [editing, setEditing] = useState<Workspace | null>(null);
  return (
    <section>
      <h2>Argo workspaces</h2>
      <ErrorLine error={workspaces.error} />
      {isAdmin ? (
        <button type="button" onClick={() => setEditing({ name: "", roleGroups: [[]], hideForUnauthorized: false, description: "" })}>
          New workspace
        </button>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Role groups (all roles of any one group)</th>
            <th>Hidden from others</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {(workspaces.data ?? []).map((w) => (
            <tr key={w.name} class="clickable" data-workspace={w.name} onClick={() => setEditing(w)}>
              <td>{w.name}</td>
              <td>{w.roleGroups.map((g) => g.join(" + ")).join("  |  ")}</td>
              <td>{w.hideForUnauthorized ? "yes" : "no"}</td>
              <td>{w.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing ? <WorkspaceEditor key={editing.name} initial={editing} onDone={() => (setEditing(null), workspaces.reload())} /> : null}
    </section>
  );
}

function WorkspaceEditor({ initial, onDone }: { initial: Workspace; onDone: () => void }) {
  const [name, setName] = useState(initial.name);
  const [groups, setGroups] = useState(initial.roleGroups.map((g) => g.join(", ")));
  const [hidden, setHidden] = useState(initial.hideForUnauthorized);
  const [description, setDescription] = useState(initial.description ?? "");
  const [error, setError] = useState<unknown>(null);
  const save = (e: Event) => {
    e.preventDefault();
    const roles = groups.map(list).filter((g) => g.length > 0);
    api("PUT", `/admin/workspaces/${encodeURIComponent(name)}`, {
      roles,
      hideForUnauthorized: hidden,
      ...(description ? { description } : {}),
    }).then(onDone, setError);
  };
  return (
    <form class="editor" onSubmit={save} name="workspace">
      <h3>{initial.name ? `Workspace ${initial.name}` : "New workspace"}</h3>
      <Field label="Name (a Kubernetes namespace)" error={problemOf(error, "name")}>
        <input name="name" value={name} readOnly={initial.name !== ""} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      {groups.map((g, i) => (
        <div class="group">
          <Field label={`Group ${i + 1}: roles, all required`} error={problemOf(error, `roles.${i}`)}>
            <input name={`group-${i}`} value={g} onInput={(e) => setGroups(groups.map((x, j) => (j === i ? e.currentTarget.value : x)))} />
          </Field>
          {groups.length > 1 ? (
            <button type="button" onClick={() => setGroups(groups.filter((_, j) => j !== i))}>
              Remove group
            </button>
          ) : null}
        </div>
      ))}
      <button type="button" onClick={() => setGroups([...groups, ""])}>
        Add a group
      </button>
      <label class="check">
        <input type="checkbox" name="hidden" checked={hidden} onChange={(e) => setHidden(e.currentTarget.checked)} /> Hide from those who
        may not enter
      </label>
      <Field label="Description" error={problemOf(error, "description")}>
        <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </Field>
      <div class="actions">
        <button type="submit">Save</button>
        {initial.name ? (
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirm(`Delete the policy of ${initial.name}? (The namespace stays.)`) &&
              api("DELETE", `/admin/workspaces/${encodeURIComponent(initial.name)}`).then(onDone, setError)
            }
          >
            Delete policy
          </button>
        ) : null}
        <button type="button" onClick={onDone}>
          Close
        </button>
      </div>
      <ErrorLine error={error} beside={["name", "description", ...groups.map((_, i) => `roles.${i}`)]} />
    </form>
  );
}
