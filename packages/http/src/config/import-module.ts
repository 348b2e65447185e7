import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Why a module could not be imported: not found, or it threw while loading. */
export class ModuleImportError extends Error {
  override readonly name = "ModuleImportError";
  constructor(
    message: string,
    readonly reason: "not-found" | "failed",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || isAbsolute(specifier) || specifier.startsWith("file:");
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/**
 * Node 20 cannot import TypeScript; jiti transpiles it on the fly.
 * Newer Node versions with type stripping import it natively first.
 */
async function importTypeScript(file: string): Promise<unknown> {
  const { createJiti } = await import("jiti");
  return createJiti(import.meta.url, { interopDefault: false }).import(file);
}

/**
 * Imports a module named in a configuration file: a path (relative to `fromDir`) or a package
 * name (resolved from vpncp's own packages, then from `fromDir`).
 */
export async function importConfiguredModule(specifier: string, fromDir: string): Promise<Record<string, unknown>> {
  if (isPathSpecifier(specifier)) {
    const file = specifier.startsWith("file:") ? new URL(specifier).pathname : resolve(fromDir, specifier);
    if (!existsSync(file)) throw new ModuleImportError(`${file} does not exist`, "not-found");
    return importFile(file);
  }
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if (codeOf(error) !== "ERR_MODULE_NOT_FOUND" || !String((error as Error).message).includes(specifier))
      throw new ModuleImportError((error as Error).message, "failed", { cause: error });
  }
  let file: string;
  try {
    file = createRequire(join(fromDir, "vpncp.config.js")).resolve(specifier);
  } catch {
    throw new ModuleImportError(`package ${specifier} is not installed (looked from ${fromDir} and vpncp's own packages)`, "not-found");
  }
  return importFile(file);
}

async function importFile(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if (codeOf(error) === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[mc]?ts$/.test(file)) {
      try {
        return (await importTypeScript(file)) as Record<string, unknown>;
      } catch (inner) {
        throw new ModuleImportError((inner as Error).message, "failed", { cause: inner });
      }
    }
    throw new ModuleImportError((error as Error).message, "failed", { cause: error });
  }
}
