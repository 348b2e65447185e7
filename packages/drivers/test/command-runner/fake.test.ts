import { CommandError } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { FakeCommandRunner } from "../../src/command-runner/fake.js";

describe("FakeCommandRunner", () => {
  test("records argv and stdin, answers from responders, fails like the real runner", async () => {
    const runner = new FakeCommandRunner({ netns: "ns1" });
    runner.respond((file, args) => (file === "wg" && args[0] === "show" ? { stdout: "wg0\n" } : undefined));
    runner.respond((file) => (file === "false" ? { exitCode: 1, stderr: "boom" } : undefined));
    expect((await runner.run("wg", ["show", "interfaces"])).stdout).toBe("wg0\n");
    await runner.run("wg", ["set", "wg0"], { input: "key" });
    await expect(runner.run("false", [])).rejects.toBeInstanceOf(CommandError);
    expect((await runner.run("false", [], { allowFailure: true })).exitCode).toBe(1);
    expect(runner.commands.map((c) => [c.file, ...c.args])).toEqual([
      ["wg", "show", "interfaces"],
      ["wg", "set", "wg0"],
      ["false"],
      ["false"],
    ]);
    expect(runner.commands[1]?.input).toBe("key");
    expect(runner.netns).toBe("ns1");
  });

  test("spawned daemons can be stopped", async () => {
    const runner = new FakeCommandRunner();
    const daemon = runner.spawn("wireguard-go", ["wg0"]);
    await daemon.stop();
    expect(await daemon.exited).toBe("SIGTERM");
  });
});
