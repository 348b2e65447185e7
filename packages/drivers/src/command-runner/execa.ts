import { CommandError, type CommandResult, type CommandRunner, type DaemonHandle, type RunOptions, type SpawnOptions } from "@vpncp/core";
import { execa } from "execa";

export const DRIVER_NAME = "execa";

export interface ExecaRunnerOptions {
  /** Run every command inside this network namespace (`ip netns exec NS …`). */
  readonly netns?: string | null | undefined;
  /** Default timeout per command, in milliseconds. */
  readonly timeoutMs?: number;
  /** Called after each command with its argv and duration (never its stdin). */
  readonly onCommand?: (file: string, args: readonly string[], ms: number, exitCode: number) => void;
}

/** Runs programs with execa: argument arrays only, secrets on stdin, optional network namespace. */
export class ExecaRunner implements CommandRunner {
  readonly netns: string | null;
  readonly #timeoutMs: number;
  readonly #onCommand: ExecaRunnerOptions["onCommand"];

  constructor(options: ExecaRunnerOptions = {}) {
    this.netns = options.netns ?? null;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#onCommand = options.onCommand;
  }

  #argv(file: string, args: readonly string[]): [string, string[]] {
    return this.netns ? ["ip", ["netns", "exec", this.netns, file, ...args]] : [file, [...args]];
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [bin, argv] = this.#argv(file, args);
    const started = performance.now();
    const result = await execa(bin, argv, {
      input: options.input ?? "",
      env: { LC_ALL: "C", ...options.env },
      timeout: options.timeoutMs ?? this.#timeoutMs,
      reject: false,
      stripFinalNewline: false,
    });
    const exitCode = result.exitCode ?? -1;
    this.#onCommand?.(file, args, performance.now() - started, exitCode);
    const out: CommandResult = { stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? ""), exitCode };
    if (exitCode !== 0 && !options.allowFailure) {
      const stderr = result.failed && result.exitCode === undefined ? (result.shortMessage ?? out.stderr) : out.stderr;
      throw new CommandError(file, args, result.exitCode ?? null, stderr);
    }
    return out;
  }

  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): DaemonHandle {
    const [bin, argv] = this.#argv(file, args);
    const child = execa(bin, argv, {
      env: { LC_ALL: "C", ...options.env },
      stdin: "ignore",
      buffer: false,
      reject: false,
      cleanup: true,
    });
    const onOutput = options.onOutput;
    if (onOutput) {
      for (const stream of [child.stdout, child.stderr]) {
        let pending = "";
        stream?.on("data", (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) onOutput(line);
        });
      }
    } else {
      child.stdout?.resume();
      child.stderr?.resume();
    }
    const exited = child.then((r) => r.exitCode ?? r.signal ?? -1);
    const pid = child.pid;
    if (pid === undefined) throw new CommandError(file, args, null, "could not start");
    return {
      pid,
      exited,
      async stop(graceMs = 3000) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        } else {
          await exited;
        }
      },
    };
  }
}

export default function createExecaRunner(options?: ExecaRunnerOptions): ExecaRunner {
  return new ExecaRunner(options);
}
