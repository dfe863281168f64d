import { defineConfig } from "drizzle-kit";

// `npx drizzle-kit generate` writes migrations/ from src/db/schema.ts;
// `DATABASE_URL=... npx drizzle-kit migrate` applies them to a database.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  ...(process.env.DATABASE_URL ? { dbCredentials: { url: process.env.DATABASE_URL } } : {}),
});
