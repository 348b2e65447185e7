import type { Logger } from "@vpncp/core";

/** One JSON object per line on stdout/stderr: easy for journald and log shippers. */
export function jsonLogger(write: (line: string, level: string) => void = batchedStdio()): Logger {
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }), level);
    };
  return { info: log("info"), warn: log("warn"), error: log("error") };
}

/**
 * Info and warning lines go out once per turn of the event loop, in one write: writes to a
 * pipe or journald's socket are synchronous, and one per request took a third of the
 * throughput of the API under load. Errors go out at once (after what is pending), and
 * what is pending when the process exits is written then.
 */
function batchedStdio(): (line: string, level: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    process.stdout.write(text);
  };
  process.once("exit", flush);
  return (line, level) => {
    if (level === "error") {
      flush();
      process.stderr.write(`${line}\n`);
      return;
    }
    pending.push(`${line}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
