#!/usr/bin/env node
// The vpncp CLI: built by `npm install` (prepare → tsc -b) into dist/.
await import("../dist/cli.js");
