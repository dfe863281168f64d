/**
 * The body of an Argo request, decided: read as Argo reads it (src/engines/argo/goJson.ts), every namespace it
 * names checked, and re-encoded. Only the re-encoding reaches Argo, never the client's bytes. Pure.
 */
import { type Verdict, allow, refuse } from "../../verdict";
import { readAsGo } from "./goJson";
import { bodyNamespaces } from "./paths";

/**
 * Every key a gateway policy reads in an Argo body, spelled as Argo's types name them: a key that folds to one of
 * these under Go's matching must be spelled exactly so (a policy reading another field adds it here).
 */
export const DECIDED_BODY_KEYS = ["namespace", "metadata"] as const;

export interface DecidedBody {
  /** The value the checks ran on (JSON.parse of the client's text, after readAsGo found no other reading). */
  readonly value: unknown;
  /** What Argo receives: `JSON.stringify(value)`, made after every check. */
  readonly text: string;
}

/** The body of a request acting in `namespace`: every namespace it names must be that one. */
export function decideBody(text: string, namespace: string): Verdict<DecidedBody> {
  const read = readAsGo(text, DECIDED_BODY_KEYS);
  if (!read.ok) return read;
  if (bodyNamespaces(read.value).some((ns) => ns !== namespace))
    return refuse("the namespace in the body differs from the path", "BAD_REQUEST");
  return allow({ value: read.value, text: JSON.stringify(read.value) });
}
