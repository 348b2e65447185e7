import { CommandError } from "@vpncp/core";
import { describe, expect, test } from "vitest";
import { ExecaRunner } from "../../src/command-runner/execa.js";

describe("ExecaRunner", () => {
  test("runs argument arrays without a shell: metacharacters stay literal", async () => {
    const runner = new ExecaRunner();
    const { stdout } = await runner.run("printf", ["%s|", "a b", "$(id)", "; rm -rf /"]);
    expect(stdout).toBe("a b|$(id)|; rm -rf /|");
  });

  test("secrets go on stdin, and a failure's error carries argv and stderr but never stdin", async () => {
    const runner = new ExecaRunner();
    const secret = "super-secret-private-key";
    const ok = await runner.run("cat", [], { input: secret });
    expect(ok.stdout).toBe(secret);
    const failure = runner.run("sh", ["-c", "cat >/dev/null; echo nope >&2; exit 3"], { input: secret });
    await expect(failure).rejects.toBeInstanceOf(CommandError);
    await expect(failure).rejects.toMatchObject({ exitCode: 3, file: "sh" });
    const error = (await failure.catch((e: unknown) => e)) as CommandError;
    expect(String(error.message)).toContain("nope");
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(String(error.message)).not.toContain(secret);
  });

  test("allowFailure resolves with the exit code; a missing program is an error, not a crash", async () => {
    const runner = new ExecaRunner();
    expect((await runner.run("sh", ["-c", "exit 7"], { allowFailure: true })).exitCode).toBe(7);
    await expect(runner.run("vpncp-no-such-program", [])).rejects.toBeInstanceOf(CommandError);
  });

  test("with a netns, every command is wrapped in `ip netns exec NS`", async () => {
    const seen: string[][] = [];
    const runner = new ExecaRunner({ netns: "vpncp-test-ns", onCommand: (file, args) => seen.push([file, ...args]) });
    // the namespace does not exist: ip reports it, which proves the wrapping
    const result = await runner.run("true", [], { allowFailure: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/vpncp-test-ns/);
    expect(seen).toEqual([["true"]]);
  });

  test("spawn keeps a daemon as a child; stop() terminates and reaps it", async () => {
    const runner = new ExecaRunner();
    const lines: string[] = [];
    const daemon = runner.spawn("sh", ["-c", "echo ready; exec sleep 30"], { onOutput: (line) => lines.push(line) });
    expect(daemon.pid).toBeGreaterThan(0);
    await expect.poll(() => lines).toContain("ready");
    await daemon.stop(1000);
    expect(await daemon.exited).toBe("SIGTERM");
    expect(() => process.kill(daemon.pid, 0)).toThrow();
  });
});
