import { describe, expect, test } from "vitest";
import { FakeShaper } from "../../src/shaper/fake.js";
import { testShaperDriver } from "../contract/shaper.js";

testShaperDriver({
  name: "fake",
  create: async () => ({ shaper: new FakeShaper(), interfaces: ["wg0", "wg1"], dispose: async () => {} }),
});

describe("FakeShaper", () => {
  test("exposes what was applied, read-only", async () => {
    const shaper = new FakeShaper();
    await shaper.applyInterfaces([
      { interface: "wg0", subnets: ["10.0.105.0/24"], accounts: [{ mark: 109, ipv4: "10.0.105.18", downloadMbit: 20, uploadMbit: 0 }] },
    ]);
    expect(shaper.interfaces).toEqual(["wg0"]);
    expect(shaper.rateOf("wg0", 109)).toEqual({ downloadMbit: 20, uploadMbit: 0 });
    const view = shaper.interface("wg0");
    if (!view) throw new Error("wg0 is not shaped");
    expect(view.ifb).toBe("ifb-wg0");
    expect(view.subnets).toEqual(["10.0.105.0/24"]);
    (view.accounts as Map<number, unknown>).delete(109);
    expect(shaper.rateOf("wg0", 109)).toEqual({ downloadMbit: 20, uploadMbit: 0 });
    await shaper.removeInterface("wg0");
    expect(shaper.interfaces).toEqual([]);
    expect(shaper.rateOf("wg0", 109)).toBeUndefined();
  });

  test("prints classes in tc's format", async () => {
    const shaper = new FakeShaper();
    await shaper.applyInterfaces([
      { interface: "wg0", subnets: [], accounts: [{ mark: 109, ipv4: "10.0.105.18", downloadMbit: 20, uploadMbit: 1500 }] },
    ]);
    const [download, upload] = await shaper.classes("wg0", 109);
    expect(download?.text).toBe(
      [
        "class htb 1:6d parent 1:1 prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b ",
        " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) ",
        " backlog 0b 0p requeues 0",
        " lended: 0 borrowed: 0 giants: 0",
        " tokens: 10000 ctokens: 10000",
      ].join("\n"),
    );
    expect(upload?.device).toBe("ifb-wg0");
    expect(upload?.text).toContain("rate 1500Mbit ceil 1500Mbit");
  });
});
