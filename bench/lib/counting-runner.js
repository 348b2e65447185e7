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
      log.push({ file, args: args.slice(0, 4), ms });
    },
  });
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
  };
}
