/**
 * A load generator in its own process: `concurrency` keep-alive connections on loopback,
 * each sending the next request as soon as the previous answer is read, for `durationMs`.
 * Paths rotate through the list given, so every request can ask for another account.
 */
import http from "node:http";
import { percentile } from "../lib/stats.js";
import { serveWorker } from "../lib/worker.js";

function request(agent, url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => {
        bytes += chunk.length;
      });
      res.on("end", () => resolve({ status: res.statusCode, bytes }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

serveWorker({
  async run({ base, paths, cookie, concurrency, durationMs }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const headers = cookie ? { cookie } : {};
    const latencies = [];
    let next = 0;
    let errors = 0;
    let bytes = 0;
    const deadline = performance.now() + durationMs;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const path = paths[next++ % paths.length];
          const t = performance.now();
          const result = await request(agent, `${base}${path}`, headers).catch(() => ({ status: 0, bytes: 0 }));
          latencies.push(performance.now() - t);
          bytes += result.bytes;
          if (result.status !== 200) errors += 1;
        }
      }),
    );
    const elapsed = performance.now() - started;
    agent.destroy();
    return {
      requests: latencies.length,
      rps: (latencies.length / elapsed) * 1000,
      errors,
      bytesPerResponse: latencies.length > 0 ? bytes / latencies.length : 0,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  },
});
