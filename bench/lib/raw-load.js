/**
 * The baseline of target 2: the raw tools loading the same state from prepared files, as
 * a hand-written boot script would: every wireguard-go at once, one `wg setconf` per
 * interface, one `ip -batch` (addresses, links up, IFBs), then one `nft -f` and one
 * `tc -batch` side by side. The nft and tc files are the ones vpncp itself sent (captured),
 * the wg files are rendered by the same renderer, so both sides load identical state.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { interfaceSpec, isActive, peerSpec } from "@vpncp/core";
import { renderSyncConf } from "@vpncp/drivers";

const run = promisify(execFile);
const TIME = "/usr/bin/time";

/** Writes the files; returns what `load` needs. */
export function prepareRawFiles(state, inputs) {
  const dir = mkdtempSync(join(tmpdir(), "vpncp-bench-raw-"));
  const wg = state.servers.map((server) => {
    const peers = state.accounts.filter((a) => a.wgName === server.name && isActive(a, server)).map(peerSpec);
    const file = join(dir, `${server.interfaceName}.conf`);
    writeFileSync(file, renderSyncConf(interfaceSpec(server), peers), { mode: 0o600 });
    return { name: server.interfaceName, file, address: server.address };
  });
  const ifbLines = inputs
    .filter((i) => i.file === "ip")
    .flatMap((i) => i.input.split("\n"))
    .filter(Boolean);
  const ipFile = join(dir, "links.ip");
  writeFileSync(
    ipFile,
    `${[...wg.flatMap((w) => [`address add ${w.address} dev ${w.name}`, `link set dev ${w.name} up`]), ...ifbLines].join("\n")}\n`,
  );
  const nft = inputs.filter((i) => i.file === "nft").map((i) => i.input);
  const tc = inputs.filter((i) => i.file === "tc").map((i) => i.input);
  if (nft.length !== 1 || tc.length !== 1)
    throw new Error(`expected one nft and one tc batch from vpncp, got ${nft.length} and ${tc.length}`);
  const nftFile = join(dir, "ruleset.nft");
  const tcFile = join(dir, "shaping.tc");
  writeFileSync(nftFile, nft[0]);
  writeFileSync(tcFile, tc[0]);
  return { dir, wg, ipFile, nftFile, tcFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function socketAnswers(name) {
  return new Promise((resolve) => {
    const socket = connect(`/var/run/wireguard/${name}.sock`);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Loads the files into the (empty) namespace; returns the time and the daemons (stop them with `stop`). */
export async function rawLoad(netns, files) {
  const inNs = (file, args) => run("ip", ["netns", "exec", netns, file, ...args], { maxBuffer: 64 * 1024 * 1024 });
  const started = performance.now();
  const daemons = files.wg.map((w) =>
    spawn("ip", ["netns", "exec", netns, "wireguard-go", w.name], {
      env: { ...process.env, WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" },
      stdio: "ignore",
    }),
  );
  await Promise.all(
    files.wg.map(async (w) => {
      while (!(await socketAnswers(w.name))) await new Promise((resolve) => setTimeout(resolve, 5));
    }),
  );
  const stages = { daemons: performance.now() - started };
  await Promise.all(files.wg.map((w) => inNs("wg", ["setconf", w.name, w.file])));
  stages.setconf = performance.now() - started;
  await inNs("ip", ["-batch", files.ipFile]);
  stages.links = performance.now() - started;
  // GNU time says how much of the tc batch is the kernel's (system time) and how much tc's own
  const tc = existsSync(TIME)
    ? inNs(TIME, ["-f", "tc-times %e %U %S", "tc", "-batch", files.tcFile]).then(({ stderr }) => {
        const times = /tc-times (\S+) (\S+) (\S+)/.exec(stderr);
        if (times) stages.tcTimes = { wall: Number(times[1]) * 1000, user: Number(times[2]) * 1000, system: Number(times[3]) * 1000 };
      })
    : inNs("tc", ["-batch", files.tcFile]);
  await Promise.all([inNs("nft", ["-f", files.nftFile]), tc, inNs("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"])]);
  const ms = performance.now() - started;
  return {
    ms,
    stages,
    processes: daemons.length + files.wg.length + 4,
    async stop() {
      await Promise.all(
        daemons.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", resolve);
              child.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}
