// bridge CHECK: passes right after ADD, and fails, with the reference's messages, when what the
// previous result describes was changed behind the runtime's back.

import { expect } from "chai";

import { rmSync } from "node:fs";
import { join } from "node:path";

import { type BridgeNode, type BridgeResult, NETWORK, type Pod, useBridgeNode } from "./fixture";

describe("bridge CHECK (compiled binary)", () => {
  const fixture = useBridgeNode();
  let pod: Pod;
  let config: Record<string, unknown>;
  let result: BridgeResult;

  const setUp = (node: BridgeNode, keys: Record<string, unknown> = {}) => {
    pod = node.pod();
    config = node.config({ isDefaultGateway: true, ...keys });
    result = node.addOk(pod, config);
  };
  const check = () => fixture.node.check(pod, config, result);
  const failsWith = (message: string | RegExp) => {
    const reply = check();
    expect(reply.status, reply.stdout).to.equal(1);
    expect(String(reply.json?.["msg"])).to.match(typeof message === "string" ? new RegExp(escape(message)) : message);
  };

  it("passes right after ADD, for a dual-stack attachment too, and again", () => {
    const { node } = fixture;
    setUp(node, {
      ipam: {
        type: "host-local",
        dataDir: node.dataDir,
        ranges: [[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]],
      },
    });
    const reply = check();
    expect(reply.status, reply.stdout).to.equal(0);
    expect(reply.stdout).to.equal("");
    expect(check().status).to.equal(0);
  });

  it("requires a prevResult", () => {
    const { node } = fixture;
    setUp(node);
    const reply = node.call("CHECK", pod, config);
    expect(reply.json?.["msg"]).to.equal("Required prevResult missing");
  });

  it("fails when the container's address is gone", () => {
    setUp(fixture.node);
    pod.ns.ip("addr", "del", "10.22.0.2/24", "dev", "eth0");
    failsWith("Failed to match addr 10.22.0.2/24 on interface eth0");
  });

  it("fails when a route of the result is gone", () => {
    setUp(fixture.node);
    pod.ns.ip("route", "del", "default");
    failsWith(/Expected Route .*0\.0\.0\.0\/0.* not found in routing table/);
  });

  it("fails when the container's MAC changed", () => {
    setUp(fixture.node);
    pod.ns.ip("link", "set", "eth0", "address", "0a:00:00:00:00:42");
    failsWith("Interface eth0 Mac");
  });

  it("fails when the host end left the bridge", () => {
    setUp(fixture.node);
    fixture.node.host.ip("link", "set", result.interfaces[1]?.name ?? "", "nomaster");
    failsWith("CNI veth created for bridge cni0 was not found");
  });

  it("fails when the bridge's promiscuous mode differs from the config", () => {
    setUp(fixture.node);
    fixture.node.host.ip("link", "set", "cni0", "promisc", "on");
    failsWith("Bridge interface cni0 configured Promisc Mode false doesn't match current state: true");
  });

  it("fails when the sandbox differs from CNI_NETNS", () => {
    setUp(fixture.node);
    const other = fixture.node.pod();
    const reply = fixture.node.check({ ...pod, ns: other.ns }, config, result);
    expect(String(reply.json?.["msg"])).to.contain("Sandbox in prevResult");
  });

  it("fails when the IPAM reservation is gone (IPAM CHECK is delegated)", () => {
    const { node } = fixture;
    setUp(node);
    rmSync(join(node.dataDir, NETWORK, "10.22.0.2"));
    const reply = check();
    expect(reply.status).to.equal(1);
    expect(String(reply.json?.["msg"])).to.match(/failed to find address/i);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
