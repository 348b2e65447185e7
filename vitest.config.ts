import { defineConfig } from "vitest/config";

// Tests import the workspace packages from their TypeScript sources (the
// "@vpncp/source" export condition), so no build is needed before `vitest`.
const resolve = { conditions: ["@vpncp/source", "module", "node", "development|production"] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: resolve.conditions, externalConditions: ["@vpncp/source"] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "core", include: ["packages/core/test/**/*.test.ts"], exclude: ["**/*.system.test.ts"] } },
      { extends: true, test: { name: "drivers", include: ["packages/drivers/test/**/*.test.ts"], exclude: ["**/*.system.test.ts"] } },
      { extends: true, test: { name: "http", include: ["packages/http/test/**/*.test.ts"], exclude: ["**/*.system.test.ts"] } },
      {
        extends: true,
        test: { name: "whmcs-bridge", include: ["packages/whmcs-bridge/test/**/*.test.ts"], exclude: ["**/*.system.test.ts"] },
      },
      {
        extends: true,
        test: { name: "examples", include: ["examples/**/*.test.ts", "test/**/*.test.ts"], exclude: ["**/*.system.test.ts"] },
      },
      {
        extends: true,
        // Real tools in network namespaces: one file at a time (2 vCPUs, one RTNL lock).
        test: {
          name: "system",
          include: ["**/*.system.test.ts"],
          exclude: ["**/node_modules/**"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
