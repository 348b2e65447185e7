/**
 * Benchmark parts that must not share a heap (one vpncp per size, a load generator
 * apart from the server it loads) run in child processes: `startWorker(file)` forks
 * one and calls its handlers over IPC; `serveWorker(handlers)` is the child's side.
 * Workers are direct children, stopped by PID.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export function startWorker(file, { execArgv = [] } = {}) {
  const child = fork(fileURLToPath(file), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
  let next = 0;
  const pending = new Map();
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  child.on("message", (message) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  void exited.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`worker ${file} exited (${code})`));
    pending.clear();
  });
  return {
    pid: child.pid,
    call(type, args = {}) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, type, args });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export function serveWorker(handlers) {
  process.on("message", async ({ id, type, args }) => {
    try {
      const handler = handlers[type];
      if (!handler) throw new Error(`no handler ${type}`);
      process.send({ id, result: (await handler(args)) ?? null });
    } catch (error) {
      // the causes too: a VpncpError's says which tool failed and how
      let text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      for (let cause = error?.cause; cause; cause = cause.cause)
        text += `\ncaused by: ${cause instanceof Error ? cause.message : String(cause)}`;
      process.send({ id, error: text });
    }
  });
  process.on("SIGTERM", async () => {
    try {
      await handlers.close?.();
    } finally {
      process.exit(0);
    }
  });
}
