import { VpncpError } from "@vpncp/core";
import type { H3Event } from "h3";

export type FormValue = string | number | boolean | null | undefined;
export type Form = Readonly<Record<string, FormValue | unknown>>;

const MAX_BODY = 1024 * 1024;

/**
 * Reads a POST/PUT body: form-encoded (what the pages' curl `-d` sends), JSON,
 * or multipart. A body that cannot be read is "Malformed request body"; an
 * empty body is an empty form.
 */
export async function readForm(event: H3Event): Promise<Form> {
  const type = (event.req.headers.get("content-type") ?? "").toLowerCase();
  // refuse an announced oversize body before reading it, not after buffering it all
  if (Number(event.req.headers.get("content-length")) > MAX_BODY) throw new VpncpError("MALFORMED_BODY");
  let text: string;
  if (type.startsWith("multipart/form-data")) {
    try {
      const form = await event.req.formData();
      const out: Record<string, string> = {};
      for (const [key, value] of form.entries()) if (typeof value === "string") out[key] = value;
      return out;
    } catch (error) {
      throw new VpncpError("MALFORMED_BODY", { cause: error });
    }
  }
  try {
    text = await readText(event.req);
  } catch (error) {
    throw new VpncpError("MALFORMED_BODY", { cause: error });
  }
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

/** The body as text, read up to MAX_BODY bytes (a chunked body has no length to check first). */
async function readText(request: Request): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel();
      throw new Error("body too large");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
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
