import type { z } from "zod";

/**
 * A configuration file or plugin option vpncp refuses to start with. The message is one line
 * naming the file, the key and what is expected; the CLI prints it without a stack.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** The file at fault (absolute), when there is one. */
    readonly file: string | null = null,
    /** The key at fault, as written in the message ("plugins[1].options.url"). */
    readonly key: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A zod issue path as written in the file: `plugins[1].options.url`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The value at a path of the checked input, to quote it back in the message. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** A value quoted for a message: short, one line. */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return shown.length > 80 ? `${shown.slice(0, 77)}…` : shown;
}

const ARTICLE: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
};

/** What a zod issue expected, in words, for schemas without a written expectation (plugin options). */
export function expectationOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return ARTICLE[issue.expected] ?? issue.expected;
    case "too_small":
      return issue.origin === "string"
        ? `at least ${issue.minimum} characters long`
        : issue.origin === "array"
          ? `a list of at least ${issue.minimum} entries`
          : `${issue.inclusive === false ? "greater than" : "at least"} ${issue.minimum}`;
    case "too_big":
      return issue.origin === "string"
        ? `at most ${issue.maximum} characters long`
        : issue.origin === "array"
          ? `a list of at most ${issue.maximum} entries`
          : `${issue.inclusive === false ? "less than" : "at most"} ${issue.maximum}`;
    case "invalid_format":
      return issue.format === "url" ? "a URL" : `a valid ${issue.format}`;
    case "invalid_value":
      return issue.values.map((v) => JSON.stringify(v)).join(" or ");
    default:
      return issue.message;
  }
}

/** A zod issue of options under `base` as one sentence: `"plugins[1].options.url" must be a URL, got "x"`. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown, base: string): { key: string; text: string } {
  if (issue.code === "unrecognized_keys") {
    const key = [base, keyPath([...issue.path, issue.keys[0]!])].filter(Boolean).join(".");
    return { key, text: `"${key}" is not a known option` };
  }
  const sub = keyPath(issue.path);
  const key = sub === "" ? base : sub.startsWith("[") ? `${base}${sub}` : `${base}.${sub}`;
  return { key, text: `"${key}" must be ${expectationOf(issue)}, got ${quote(valueAt(input, issue.path))}` };
}
