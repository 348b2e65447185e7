import { VpncpError } from "@vpncp/core";
import type { H3Event } from "h3";

export type FormValue = string | number | boolean | null | undefined;
export type Form = Readonly<Record<string, FormValue | unknown>>;

/** The largest request body read (1 MiB: certificates and page blocks fit many times over). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The body went past MAX_BODY_BYTES while it was read. */
class BodyTooLarge extends Error {}

/**
 * Reads a POST/PUT body: form-encoded (what the pages' curl `-d` sends), JSON,
 * or multipart. A body that cannot be read is "Malformed request body"; one past
 * MAX_BODY_BYTES is "Request body too large" (413), whatever its Content-Length
 * said or with none (chunked); an empty body is an empty form.
 */
export async function readForm(event: H3Event): Promise<Form> {
  const type = (event.req.headers.get("content-type") ?? "").toLowerCase();
  // refuse an announced oversize body before reading it, not after buffering it all
  if (Number(event.req.headers.get("content-length")) > MAX_BODY_BYTES) throw new VpncpError("BODY_TOO_LARGE");
  let bytes: Buffer;
  try {
    bytes = await readBytes(event.req);
  } catch (error) {
    throw new VpncpError(error instanceof BodyTooLarge ? "BODY_TOO_LARGE" : "MALFORMED_BODY", { cause: error });
  }
  if (type.startsWith("multipart/form-data")) {
    try {
      // parsed from the bytes read within the limit (formData() on the request would read all of it)
      const form = await new Response(new Uint8Array(bytes), { headers: { "content-type": type } }).formData();
      const out: Record<string, string> = {};
      for (const [key, value] of form.entries()) if (typeof value === "string") out[key] = value;
      return out;
    } catch (error) {
      throw new VpncpError("MALFORMED_BODY", { cause: error });
    }
  }
  const text = bytes.toString("utf8");
  if (text.trim() === "") return {};
  const looksJson = type.includes("json") || (!type.includes("urlencoded") && /^\s*[{[]/.test(text));
  if (looksJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new VpncpError("MALFORMED_BODY", { cause: error });
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new VpncpError("MALFORMED_BODY");
    return parsed as Form;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) out[key] = value;
  return out;
}

/** The body, read up to MAX_BODY_BYTES (a chunked body has no length to check first, and a length can lie). */
async function readBytes(request: Request): Promise<Buffer> {
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(`request body past ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A scalar field of the form (objects and arrays are not values of this API). */
export function field(form: Form, name: string): FormValue {
  const value = form[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  throw new VpncpError("MALFORMED_BODY");
}

/** Base64 keys sent unencoded with curl -d turn "+" into " "; base64 never holds spaces. */
export function keyField(form: Form, name: string): FormValue {
  const value = field(form, name);
  return typeof value === "string" ? value.trim().replace(/ /g, "+") : value;
}
