/**
 * Runs external programs. Every system driver goes through this port, so that
 * arguments are always arrays (never a shell string), secrets travel on stdin,
 * and a whole driver set can be pointed at a network namespace in one place.
 */
export interface RunOptions {
  /** Written to the program's stdin (the only way secrets reach a program). */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the program after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Resolve with the exit code instead of rejecting when the program fails. */
  readonly allowFailure?: boolean;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Called with each line the daemon writes to stdout or stderr. */
  readonly onOutput?: (line: string) => void;
}

/** A long-running child (wireguard-go, charon). It stays a direct child of this process. */
export interface DaemonHandle {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the child has been reaped. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after the grace period; resolves once reaped. */
  stop(graceMs?: number): Promise<void>;
}

export interface CommandRunner {
  /** The network namespace commands run in, or null for the current one. */
  readonly netns: string | null;
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  spawn(file: string, args: readonly string[], options?: SpawnOptions): DaemonHandle;
}

/** A program exited non-zero (or could not start). Never carries stdin. */
export class CommandError extends Error {
  readonly file: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(file: string, args: readonly string[], exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    super(
      `${file} ${args.join(" ")} failed (${exitCode === null ? "not started" : `exit ${exitCode}`}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
      options,
    );
    this.name = "CommandError";
    this.file = file;
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
