/** Argo's variable (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { url } from "../../configFields";

export const argoConfig = z.object({ ARGO_URL: url }).transform((v) => ({ upstreams: { argo: v.ARGO_URL } }));
