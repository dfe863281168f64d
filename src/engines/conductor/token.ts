/**
 * `POST /conductor/api/token` and `POST /workers/conductor/api/token`: the Conductor SDKs' login.
 *
 * The SDKs (JavaScript, Java, Python), configured with `keyId` and `keySecret`, trade them here for a token they
 * then send as `X-Authorization`. `keyId` is the flowgate key's id and `keySecret` the whole key; the two must name
 * the same key. A bad pair is 401 (Conductor's error shape, the reason in `message`), so the SDK fails loudly: a
 * 404 here would make it conclude "Conductor OSS, no auth" and carry on without any credential.
 */
import { keyLookupDeps, type AppContext } from "../../context";
import { badRequest, unauthenticated } from "../../errors";
import { parseKeyId } from "../../formats/apiKey";
import { authenticateApiKey } from "../../identity/authenticate";
import { issueGatewayToken, requireTokenSecrets } from "../../identity/gatewayToken";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { requireJsonDepth } from "../../proxy/json";

/**
 * A token request is two short strings; anything longer is not one. (16 KB, not less: a body nested past
 * MAX_JSON_DEPTH within it is told so, 400, like on every other JSON route.)
 */
const MAX_TOKEN_REQUEST_BYTES = 16_384;

export async function tokenLogin(c: AppContext): Promise<Response> {
  const config = c.get("config");
  const text = utf8(await readBodyLimited(c.req.raw, Math.min(MAX_TOKEN_REQUEST_BYTES, config.maxBodyBytes)));
  requireJsonDepth(text, "body");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('body must be JSON: {"keyId": "<key id>", "keySecret": "<the whole key>"}');
  }
  const pair = body as { keyId?: unknown; keySecret?: unknown } | null;
  if (typeof pair !== "object" || pair === null || typeof pair.keyId !== "string" || typeof pair.keySecret !== "string") {
    throw badRequest('body must be {"keyId": "<key id>", "keySecret": "<the whole key>"}');
  }
  // Before the key is looked at: a deployment without a signing secret says so, whatever the pair.
  requireTokenSecrets(config.gatewayTokenSecrets);
  const { principal } = await authenticateApiKey(pair.keySecret.trim(), keyLookupDeps(c));
  // The key id in either form an operator sees it (`fgk_<id>` or the bare id: src/formats/apiKey.ts).
  if (principal.keyId === undefined || principal.keyId !== parseKeyId(pair.keyId.trim()))
    throw unauthenticated("keyId is not the id of the key given as keySecret");
  const { token } = await issueGatewayToken(principal.keyId, config.gatewayTokenSecrets);
  c.set("principal", principal);
  c.header("cache-control", "no-store");
  return c.json({ token });
}
