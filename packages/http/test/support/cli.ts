/**
 * Running the built `vpncp` CLI as a user would, for the tests that spawn it (cli, operator
 * commands, configuration files, redis storage): build once per test file, a clean environment,
 * a free port, one-shot commands and `vpncp serve` started until it listens.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, "../../../..");
export const BIN = join(ROOT, "packages/http/bin/vpncp.js");
/** The line `vpncp serve` prints on stdout once it accepts connections. */
export const LISTENING = /^vpncp: listening on (\S+) /m;

/** The CLI runs from dist/: build every package as `npm run build` does (incremental: quick when up to date). */
export async function buildPackages(): Promise<void> {
  await run("npm", ["run", "build"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`npm run build failed:\n${error.stdout ?? ""}\n${error.stderr ?? ""}`);
  });
}

/** The environment without any VPNCP_* variable of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("VPNCP_")) env[key] = value;
  return { ...env, ...extra };
}

/** A port nothing listens on right now (the CLI refuses port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** `vpncp …` to its end, in `cwd` with `cleanEnv(env)`: what it printed and its exit code. */
export async function runCli(args: string[], options: { cwd: string; env?: Record<string, string> | undefined }): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

export interface Serving {
  readonly child: ChildProcess;
  /** The URL of the "listening on" line. */
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `vpncp serve ARGS` until its "listening on" line (30 s at most; its exit first is an error
 * carrying its output). The child joins `children` until stopped, for the file's cleanup
 * (`killChildren`).
 */
export async function startServe(
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; children: Set<ChildProcess> },
): Promise<Serving> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  options.children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`vpncp serve did not start:\n${stdout}\n${stderr}`)), 30_000);
    child.stdout!.on("data", () => {
      const match = LISTENING.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vpncp serve exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
  return {
    child,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      const code = await exited;
      options.children.delete(child);
      return code;
    },
  };
}

/** SIGKILL (by PID) every child still running, for afterEach/afterAll. */
export function killChildren(children: Set<ChildProcess>): void {
  for (const child of children) if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
  children.clear();
}
