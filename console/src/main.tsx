/**
 * flowgate's operator console: a small Preact app served as Workers static assets under /console/. It holds no
 * secret: it signs in through the gateway's browser session (an identity provider, or a flowgate key exchanged for
 * the same HttpOnly cookie) and calls the admin API with that cookie and the session's CSRF token.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, setCsrfToken, type Session } from "./api";
import { AuditPage } from "./pages/audit";
import { ExplainPage } from "./pages/explain";
import { KeysPage } from "./pages/keys";
import { LimitsPage } from "./pages/limits";
import { OperationsPage } from "./pages/operations";
import { ReferencePage } from "./pages/reference";
import { TenantsPage } from "./pages/tenants";
import { UsagePage } from "./pages/usage";
import { WorkspacesPage } from "./pages/workspaces";
import { zoneWords } from "./model";
import { ErrorLine, Field, setTimesInUtc, timesInUtc } from "./ui";

const PAGES = [
  { id: "keys", title: "Keys", admin: true },
  { id: "tenants", title: "Tenants", admin: true },
  { id: "workspaces", title: "Workspaces", admin: false },
  { id: "audit", title: "Audit trail", admin: true },
  { id: "usage", title: "Usage", admin: true },
  { id: "limits", title: "Limits", admin: true },
  { id: "explain", title: "Explain", admin: true },
  { id: "operations", title: "Operations", admin: true },
  { id: "api", title: "API", admin: true },
] as const;
type PageId = (typeof PAGES)[number]["id"];

const pageFromHash = (): PageId => {
  const id = location.hash.replace(/^#\/?/, "");
  return (PAGES.find((p) => p.id === id)?.id ?? "keys") as PageId;
};

/** How this gateway lets a browser sign in (`GET /auth/methods`): the console offers only what can work. */
interface SignInMethods {
  provider: boolean;
  keyExchange: boolean;
}

const PROVIDER_SIGN_IN = "/auth/login?return_to=/console/";

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState("");
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<SignInMethods>("GET", "/auth/methods").then(setMethods, setError);
  }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    api<{ csrfToken: string }>("POST", "/auth/key", { key: key.trim() })
      .then(() => api<Session>("GET", "/auth/session"))
      .then(onSignedIn, setError);
  };
  return (
    <main class="signin">
      <h1>flowgate console</h1>
      {methods?.provider && (
        <p>
          <a href={PROVIDER_SIGN_IN} class="button" data-sign-in="provider">
            Sign in with your identity provider
          </a>
        </p>
      )}
      {methods?.keyExchange && (
        <form onSubmit={submit} name="signin">
          <Field label="flowgate key (an admin's, or a workspace admin's)">
            <input name="key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
          </Field>
          <button type="submit">Sign in</button>
          <p class="muted">The key is exchanged for a short-lived session cookie and is not kept by the browser.</p>
        </form>
      )}
      {methods && !methods.provider && !methods.keyExchange && (
        <p>Browser sign-in is not configured on this gateway (SESSION_SECRETS, and OIDC_* or SESSION_KEY_EXCHANGE).</p>
      )}
      <ErrorLine error={error} />
    </main>
  );
}

function Console({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const [page, setPage] = useState<PageId>(pageFromHash());
  const [utc, setUtc] = useState(timesInUtc());
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const isAdmin = session.scopes.includes("admin");
  const pages = PAGES.filter((p) => isAdmin || !p.admin);
  const current = pages.some((p) => p.id === page) ? page : pages[0]!.id;
  return (
    <div class="console">
      <header>
        <h1>flowgate</h1>
        <nav>
          {pages.map((p) => (
            <a href={`#/${p.id}`} class={p.id === current ? "current" : ""} data-page={p.id}>
              {p.title}
            </a>
          ))}
        </nav>
        <label class="check zone" data-zone title={`Times on every page are in ${utc ? "UTC" : zoneWords(undefined)}`}>
          <input
            type="checkbox"
            name="utc"
            checked={utc}
            onChange={(e) => {
              setTimesInUtc(e.currentTarget.checked);
              setUtc(e.currentTarget.checked);
            }}
          />{" "}
          Times in UTC
        </label>
        <span class="who">
          {session.subject} ({session.source === "key" ? "key" : "sign-in"})
          <button type="button" onClick={() => api("POST", "/auth/logout").finally(onSignedOut)}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {current === "keys" && <KeysPage />}
        {current === "tenants" && <TenantsPage />}
        {current === "workspaces" && <WorkspacesPage isAdmin={isAdmin} />}
        {current === "audit" && <AuditPage />}
        {current === "usage" && <UsagePage />}
        {current === "explain" && <ExplainPage />}
        {current === "limits" && <LimitsPage />}
        {current === "operations" && <OperationsPage />}
        {current === "api" && <ReferencePage />}
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const adopt = (s: Session) => {
    setCsrfToken(s.csrfToken);
    setSession(s);
  };
  useEffect(() => {
    api<Session>("GET", "/auth/session").then(adopt, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else setError(e);
    });
  }, []);
  if (error) return <ErrorLine error={error} />;
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={adopt} />;
  // Signed in with the provider, signing out ends on the gateway's page (the provider's sign-in is one click away).
  const signedOut = () => (session.source === "oidc" ? location.assign("/auth/signed-out?return_to=/console/") : setSession(null));
  return <Console session={session} onSignedOut={signedOut} />;
}

render(<App />, document.getElementById("app")!);
