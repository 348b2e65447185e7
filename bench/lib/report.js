/** Collects each target's verdicts and prints them as they come and as a summary at the end. */

export function createReport() {
  const rows = [];
  return {
    rows,
    /** A detail line of the running target. */
    line(text = "") {
      console.log(text ? `  ${text}` : "");
    },
    heading(text) {
      console.log(`\n== ${text}`);
    },
    /** One verdict: figures, the ratio measured, the threshold, and PASS / FAIL / SKIP with why. */
    verdict({ target, figures, ratio = "", threshold, pass, why = "" }) {
      const status = pass === null ? "SKIP" : pass ? "PASS" : "FAIL";
      rows.push({ target, figures, ratio, threshold, status, why });
      console.log(
        `  -> ${status}  ${target}: ${figures}${ratio ? ` | ratio ${ratio}` : ""} | threshold ${threshold}${why ? ` | ${why}` : ""}`,
      );
    },
    summary() {
      console.log("\n== Summary");
      for (const row of rows) {
        console.log(`${row.status.padEnd(5)} ${row.target}`);
        console.log(`      ${row.figures}${row.ratio ? ` | ratio ${row.ratio}` : ""} | threshold ${row.threshold}`);
        if (row.why) console.log(`      ${row.why}`);
      }
      const failed = rows.filter((row) => row.status === "FAIL").length;
      const skipped = rows.filter((row) => row.status === "SKIP").length;
      console.log(`\n${rows.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
      return failed;
    },
  };
}
