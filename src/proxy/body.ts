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
 *
 * A byte stream (what the runtime gives for a request's or an answer's body) is read into one growing buffer with
 * workerd's `readAtLeast`, so a body arriving in many small pieces costs a few reads rather than one JS round trip
 * and one copy per piece (a 1 MB listing read chunk by chunk cost about 1.5 ms of CPU, docs/benchmarks.md).
 */
export async function readStreamLimited(stream: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    return readChunks(stream, maxBytes, tooLarge); // not a byte stream
  }
  // One byte past the bound is room enough to see the bound passed.
  const cap = maxBytes + 1;
  let buf = new Uint8Array(Math.min(cap, READ_STEP_BYTES));
  let total = 0;
  for (;;) {
    if (total === buf.byteLength) {
      if (total >= cap) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      const bigger = new Uint8Array(Math.min(cap, buf.byteLength * 2));
      bigger.set(buf);
      buf = bigger;
    }
    const room = buf.byteLength - total;
    const { done, value } = await reader.readAtLeast(Math.min(room, READ_STEP_BYTES), buf.subarray(total));
    // The read takes the buffer and hands it back in `value`: the bytes so far are in it, at their place.
    if (value) buf = new Uint8Array(value.buffer, 0, value.buffer.byteLength);
    if (value) total += value.byteLength;
    if (done) break;
  }
  if (total > maxBytes) throw tooLarge();
  // A buffer far larger than its bytes (it grows by doubling) is cut to size, so a cached answer weighs what it holds.
  return buf.byteLength - total > READ_STEP_BYTES ? buf.slice(0, total) : buf.subarray(0, total);
}

/** Bytes asked of the runtime per read, and a buffer's first size: a listing page in a handful of reads. */
const READ_STEP_BYTES = 64 * 1024;

/** `readStreamLimited` for a stream of chunks that is not a byte stream: one read per chunk. */
async function readChunks(stream: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
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
