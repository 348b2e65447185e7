import type { ChildProcess } from "node:child_process";

/**
 * Sends `signal` to the child (through its handle: by PID) unless it has already ended, and
 * resolves with its exit code once it has (null when a signal ended it). A child that ended
 * before the call resolves at once, so a cleanup may stop every child it started.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
    child.once("exit", (code) => done(code));
    child.kill(signal);
  });
}
