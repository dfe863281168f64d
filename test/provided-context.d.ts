// What vitest's global setup (test/setup/global.ts) provides to every test, typed for inject().
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    databaseKind: string;
    adminKey: string;
    stubPort: number;
    idpPrivateJwk: Record<string, unknown>;
  }
}
