/**
 * Reads a request body a route must inspect, refusing (413) past `maxBytes` without buffering more than that.
 */
import { GatewayError } from "../errors";

export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new GatewayError("PAYLOAD_TOO_LARGE", `request body larger than ${maxBytes} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge();
  if (declared !== null && /^\d+$/.test(declared)) {
    // The runtime enforces Content-Length, so the native read cannot exceed the bound checked above. (`req.body`
    // is not touched here: the getter makes a stream object the read does not need.)
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return bytes;
  }
  if (!req.body) return new Uint8Array();
  return readStreamLimited(req.body, maxBytes, tooLarge);
}

/**
 * A stream read whole, at most `maxBytes` of it: past the bound the stream is cancelled and `tooLarge()` thrown,
 * so nothing larger is ever held. Request bodies (above) and upstream answers a route rewrites share it.
 */
export async function readStreamLimited(stream: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** One decoder for every body: a one-shot decode (no `stream`) leaves it with no state between calls. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** UTF-8 text of a body; invalid UTF-8 is a 400, not a guess. */
export function utf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new GatewayError("BAD_REQUEST", "body is not valid UTF-8");
  }
}
