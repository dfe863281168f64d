/** The one principal the floor Workers know: any key is taken as this caller (the floors measure work, not policy). */
export interface FloorPrincipal {
  kind: "api_key";
  subject: string;
  email: string | undefined;
  tenant: string;
  roles: string[];
  groups: string[];
  scopes: string[];
  keyId: string;
  tokenId: string | undefined;
  servesTenants: string[] | undefined;
}

export const principalOf = (hash: string): FloorPrincipal => ({
  kind: "api_key",
  subject: "floor",
  email: undefined,
  tenant: "bench",
  roles: [],
  groups: [],
  scopes: ["prefect:query:*", "prefect:mutation:*"],
  keyId: `k_${hash.slice(0, 12)}`,
  tokenId: undefined,
  servesTenants: undefined,
});
