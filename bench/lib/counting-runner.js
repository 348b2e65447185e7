/**
 * An ExecaRunner whose commands are counted per tool (its `onCommand` hook), so a
 * benchmark can say how many processes a change or a reload started.
 */
import { ExecaRunner } from "@vpncp/drivers";

export function countingRunner(netns) {
  const counts = new Map();
  const log = [];
  const runner = new ExecaRunner({
    netns,
    onCommand(file, args, ms) {
      counts.set(file, (counts.get(file) ?? 0) + 1);
      log.push({ file, args: args.slice(0, 4), ms, end: performance.now() });
    },
  });
  /** stdin of every batch (`nft -f -`, `tc -batch -`, `ip -batch -`): the files a raw load replays. */
  const inputs = [];
  const run = runner.run.bind(runner);
  runner.run = (file, args, options) => {
    if (options?.input && args.includes("-")) inputs.push({ file, args: [...args], input: options.input });
    return run(file, args, options);
  };
  // daemons (wireguard-go) start through spawn, which onCommand does not see
  const spawn = runner.spawn.bind(runner);
  runner.spawn = (file, args, options) => {
    counts.set(file, (counts.get(file) ?? 0) + 1);
    return spawn(file, args, options);
  };
  return {
    runner,
    /** Counts since the last reset, per tool, and clears them. */
    take() {
      const out = Object.fromEntries([...counts].sort());
      counts.clear();
      log.length = 0;
      return out;
    },
    peek: () => Object.fromEntries([...counts].sort()),
    log,
    inputs,
  };
}
