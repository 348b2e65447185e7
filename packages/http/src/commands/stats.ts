import { defineCommand } from "citty";
import { EXIT_CODES_HELP, required, targetArgs, withOperator } from "./operator-context.js";
import { humanBytes, print, printJson, table } from "./operator-output.js";

export const statsCommand = defineCommand({
  meta: {
    name: "stats",
    description: `Traffic of an account per day of a month (bytes to and from the client). ${EXIT_CODES_HELP}`,
  },
  args: {
    ...targetArgs,
    account: { type: "positional", description: "Account name", required: false },
    year: { type: "positional", description: "Year, e.g. 2026", required: false },
    month: { type: "positional", description: "Month, 1–12", required: false },
  },
  run: ({ args }) =>
    withOperator(args, { write: false }, async ({ client }) => {
      const account = required(args.account, "ACCOUNT YEAR MONTH");
      const days = await client.accountTrafficStatistics(account, required(args.year, "YEAR"), required(args.month, "MONTH"));
      if (args.json) {
        printJson(days);
        return;
      }
      const down = days.reduce((sum, d) => sum + d.traffic_download, 0);
      const up = days.reduce((sum, d) => sum + d.traffic_upload, 0);
      const rows = days.map((d) => [d.date, humanBytes(d.traffic_download), humanBytes(d.traffic_upload)]);
      rows.push(["total", humanBytes(down), humanBytes(up)]);
      print(table(["date", "download", "upload"], rows));
    }),
});
