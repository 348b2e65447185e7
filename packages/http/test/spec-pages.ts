import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The API pages the project was started from (copies of the shared spec's
 * 000_… system page, 002_… accounts page and API-EXTENDED.md as .txt, so CI
 * has them and the formatter leaves them alone), read as data: every
 * section's curl example, response example and error list.
 */
export const PAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), "pages");
export const PAGE_FILES = ["system.txt", "accounts.txt"] as const;

export interface CurlExample {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly cookie: string;
  /** The -d value with the shell's `\`+newline continuations removed, as curl sends it. */
  readonly data: string | null;
  /** The curl arguments exactly as the shell would pass them. */
  readonly argv: readonly string[];
}

export interface PageSection {
  readonly page: string;
  readonly title: string;
  /** The example's shell block as the page writes it. */
  readonly shell: string;
  readonly example: CurlExample;
  readonly response: unknown;
  readonly errors: readonly string[];
}

/** Splits a shell command into words: double and single quotes, backslash escapes, `\`+newline continuations. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i += 1) {
    const c = command[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (c === "\\") {
      const next = command[i + 1] ?? "";
      i += 1;
      if (next === "\n") continue; // a line continuation, inside or outside double quotes
      if (quote === '"' && !'$`"\\'.includes(next)) word += "\\";
      word += next;
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${command}`);
  if (inWord) words.push(word);
  return words;
}

export function parseCurl(command: string): CurlExample {
  const argv = shellWords(command);
  if (argv[0] !== "curl") throw new Error(`not a curl command: ${command}`);
  let method = "GET";
  let cookie = "";
  let data: string | null = null;
  let url = "";
  for (let i = 1; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === "-X") method = argv[++i]!;
    else if (arg === "-b") cookie = argv[++i]!;
    else if (arg === "-d") data = data === null ? argv[++i]! : `${data}&${argv[++i]!}`;
    else if (arg.startsWith("-")) throw new Error(`unexpected curl option ${arg}`);
    else url = arg;
  }
  if (data !== null && !argv.includes("-X")) method = "POST";
  const parsed = new URL(url);
  return { method, url, path: `${parsed.pathname}${parsed.search}`, cookie, data, argv };
}

function fencedBlocks(text: string): { lang: string; body: string; index: number }[] {
  return [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]!, index: m.index! }));
}

/** Every `## ` section of a page that has a curl example, in the page's order. */
export function readPage(file: string): PageSection[] {
  const text = readFileSync(join(PAGES_DIR, file), "utf8");
  const sections: PageSection[] = [];
  const parts = text.split(/^## /m).slice(1);
  for (const part of parts) {
    const title = part.slice(0, part.indexOf("\n")).trim();
    const blocks = fencedBlocks(part);
    const shell = blocks.find((b) => b.lang === "shell");
    if (!shell) continue;
    const responseAt = part.indexOf("**Response example:**");
    const errorsAt = part.indexOf("**Errors:**");
    const json = blocks.find((b) => b.lang === "JSON" && b.index > responseAt);
    const errors = blocks.find((b) => b.lang === "" && b.index > errorsAt);
    if (!json || !errors) throw new Error(`section ${title} lacks a response example or errors`);
    sections.push({
      page: file,
      title,
      shell: shell.body.trim(),
      example: parseCurl(shell.body.trim()),
      response: JSON.parse(json.body),
      errors: errors.body
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.startsWith("-"))
        .map((line) => line.slice(1)),
    });
  }
  return sections;
}

/** The error sentences of API-EXTENDED.md: every backquoted sentence in an "…errors:" paragraph. */
export function extendedErrorSentences(): string[] {
  const text = readFileSync(join(PAGES_DIR, "api-extended.txt"), "utf8");
  const out: string[] = [];
  for (const paragraph of text.split(/\n\n/)) {
    if (!/^(Server errors|Errors|IKEv2 errors):/m.test(paragraph)) continue;
    for (const m of paragraph.matchAll(/`([^`]+)`/g)) out.push(m[1]!);
  }
  return out;
}

/** The type of a JSON value as the pages distinguish them. */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Differences in shape between an example and an actual value: missing keys,
 * keys of another type, recursively (arrays: every actual element against the
 * example's first). `extra` lists keys the response may add to the page's object.
 */
export function shapeDifferences(example: unknown, actual: unknown, extra: readonly string[] = [], path = "$"): string[] {
  if (jsonType(example) !== jsonType(actual)) return [`${path}: ${jsonType(actual)} where the page shows ${jsonType(example)}`];
  if (Array.isArray(example) && Array.isArray(actual)) {
    if (example.length === 0) return [];
    return actual.flatMap((item, i) => shapeDifferences(example[0], item, extra, `${path}[${i}]`));
  }
  if (jsonType(example) === "object") {
    const e = example as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const out: string[] = [];
    for (const key of Object.keys(e)) {
      if (!(key in a)) out.push(`${path}.${key}: missing`);
      else out.push(...shapeDifferences(e[key], a[key], extra, `${path}.${key}`));
    }
    for (const key of Object.keys(a)) if (!(key in e) && !extra.includes(key)) out.push(`${path}.${key}: not on the page`);
    return out;
  }
  return [];
}
