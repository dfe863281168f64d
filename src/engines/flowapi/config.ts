/** FlowAPI's variables (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { optionalString, url } from "../../configFields";

export const flowapiConfig = z
  .object({
    FLOWAPI_IDENTIFIER: optionalString,
    FLOWAPI_PUBLIC_KEY: optionalString,
    FLOWAPI_URL: url,
  })
  .transform((v) => ({
    /** FlowAuth token verification: the identifier tokens are issued for, and the key that signs them. */
    flowapi: { identifier: v.FLOWAPI_IDENTIFIER, publicKey: v.FLOWAPI_PUBLIC_KEY },
    upstreams: { flowapi: v.FLOWAPI_URL },
  }));
