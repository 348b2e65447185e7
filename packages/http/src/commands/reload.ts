import { defineCommand } from "citty";
import cliProgress from "cli-progress";
import { EXIT_CODES_HELP, targetArgs, UsageError, withOperator } from "./operator-context.js";
import { print, printJson } from "./operator-output.js";

const POLL_MS = 500;

export const reloadCommand = defineCommand({
  meta: {
    name: "reload",
    description: `Re-apply everything stored to the system (PUT /system/reload) on a running vpncp, with a progress bar on a terminal. ${EXIT_CODES_HELP}`,
  },
  args: {
    ...targetArgs,
    timeout: { type: "string", description: "Seconds to wait for the reload (default 600)" },
  },
  run: ({ args }) => {
    const seconds = args.timeout === undefined ? 600 : Number(args.timeout);
    return withOperator(args, { write: false, timeoutMs: Math.max(1, seconds) * 1000 }, async ({ client, target }) => {
      if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout must be a number of seconds, got ${args.timeout}`);
      if (target.startsWith("data directory"))
        throw new UsageError(
          "reload applies the stored state to a running vpncp: give --url (the next `vpncp serve` start reloads a data directory)",
        );
      const before = await client.systemStatus();
      // the API reports no fraction of a reload: the bar shows its steps and the status vpncp reports meanwhile
      const bar = new cliProgress.SingleBar(
        {
          format: `reload |{bar}| {step} · ${before.count_wireguard} servers, ${before.count_accounts} accounts · {duration}s`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(2, 0, { step: "requested" });
      let done = false;
      const watch = (async () => {
        while (!done) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          if (done) break;
          const status = await client.systemStatus({ retries: 0 }).catch(() => null);
          if (status && !done) bar.update(1, { step: status.status });
        }
      })();
      try {
        const result = await client.systemReload();
        done = true;
        bar.update(2, { step: "done" });
        bar.stop();
        await watch;
        const after = await client.systemStatus();
        if (args.json) printJson(result);
        else print(`reloaded ${after.count_wireguard} servers and ${after.count_accounts} accounts (status ${after.status})`);
      } finally {
        done = true;
        bar.stop();
      }
    });
  },
});
