import type { Logger } from "@vpncp/core";

/** One JSON object per line on stdout/stderr: easy for journald and log shippers. */
export function jsonLogger(write: (line: string, level: string) => void = defaultWrite): Logger {
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }), level);
    };
  return { info: log("info"), warn: log("warn"), error: log("error") };
}

function defaultWrite(line: string, level: string): void {
  (level === "error" ? process.stderr : process.stdout).write(`${line}\n`);
}
