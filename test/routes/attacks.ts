/**
 * The attacks the route table suite and the property tests make on every route: path variants an upstream could
 * route differently, deep JSON, forged identity headers.
 */

/** Variants of a path an upstream could route differently from the gateway; each is refused before routing. */
export function pathVariants(path: string): string[] {
  const [p, q] = path.split("?") as [string, string | undefined];
  const query = q === undefined ? "" : `?${q}`;
  const cut = p.lastIndexOf("/");
  const head = p.slice(0, cut);
  const last = p.slice(cut + 1);
  const inLast = [
    "%2F..%2F..%2Fadmin",
    "%2f",
    "%5C",
    "%5c..",
    "%2e%2e",
    "%2E",
    ".%2e",
    "%252F",
    "%252e%252e",
    "%00",
    "%0a",
    "%7F",
    ";jsessionid=1",
    "%3B",
    "%C0%AF",
    "%E0%80%AF",
    "%C0%AE%C0%AE",
    "%",
    "%zz",
  ];
  const inMiddle = ["%2F..%2F..%2Fadmin", "%2f", "%5C", "%5c..", "%252F", "%00", "%2E%2e%2F", ";x"];
  // A segment of dots alone (`%2e%2e`, `.%2e`) is resolved by the URL parser before any code sees the path (the
  // gateway then routes on, and sends, the resolved path), so those are not variants that reach the gateway.
  const dotsOnly = (segment: string) => /^(\.|%2e)+$/i.test(segment);
  return [
    ...inLast.filter((x) => !dotsOnly(`${last}${x}`)).map((x) => `${head}/${last}${x}${query}`),
    ...inMiddle.map((x) => `${head}/${x}/${last}${query}`),
    `${head}//${last}${query}`,
  ];
}

/** A JSON value nested `depth` levels deep (arrays). */
export const deepJson = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

/** Identity headers a client might send, and one nobody thought of; none may reach an upstream. */
export const FORGED_IDENTITY: Record<string, string> = {
  "remote-user": "root",
  "x-webauth-user": "root",
  "impersonate-user": "system:admin",
  "impersonate-group": "system:masters",
  "x-hasura-role": "admin",
  "x-hasura-admin-secret": "guess",
  "x-authenticated-userid": "root",
  forwarded: "for=10.0.0.1;by=gateway;host=internal",
  "x-forwarded-for": "10.0.0.1",
  "x-forwarded-user": "root",
  "x-forwarded-host": "internal",
  "x-tenant-id": "OTHER",
  "x-prefect-tenant-id": "other",
  "x-flowgate-tenant": "OTHER",
  "x-authorization": "Bearer forged",
  "grpc-metadata-authorization": "Bearer forged",
  "x-invented-identity": "root",
};
