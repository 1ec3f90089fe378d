// containerd 1.6 (Debian) with `ctr run --rm --cni` on our plugins: containerd is started by the
// test inside a node namespace with a private configuration (test/helpers/containerd.ts). The
// task's network is checked from inside the task; on exit ctr runs DEL with an empty CNI_NETNS (the
// task and its namespace are gone by then), and our DEL must still release everything it holds. The
// root namespace is compared before and after.

import { expect } from "chai";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { buildBusyboxImage, type BusyboxImage } from "../helpers/busybox-image";
import { ContainerdNode } from "../helpers/containerd";
import { TestNetns } from "../helpers/netns";
import { bridgePorts, filesIn, masqueradeChains, reservations } from "../helpers/node-state";
import { rootNetnsSnapshot, type RootNetnsSnapshot } from "../helpers/root-netns";
import { shippedFlannelConflist } from "../helpers/shipped-conf";
import { scratchDir, suiteDir } from "../helpers/suite";

/** What the task prints about its network, then an echo to the gateway. */
const SHOW_NETWORK = (gateway: string) => [
  "sh",
  "-c",
  `ip -o -4 addr show dev eth0 && ip -o link show dev eth0 && ip route && ping -c 1 -W 2 ${gateway}`,
];

describe("containerd (ctr run --cni) on our plugins", function () {
  this.timeout(60_000);
  let rootBefore: RootNetnsSnapshot;
  let imageDir: string;
  let image: BusyboxImage;
  let node: TestNetns;
  let containerd: ContainerdNode;

  before(async () => {
    rootBefore = rootNetnsSnapshot();
    imageDir = scratchDir("image");
    image = buildBusyboxImage(imageDir);
    node = TestNetns.create("node", { loUp: true });
    containerd = await ContainerdNode.start(node, image, { suiteDir: suiteDir(), spy: ["bridge", "flannel"] });
  });
  after(async () => {
    await containerd?.stop();
    node?.delete();
    rmSync(imageDir, { recursive: true, force: true });
    expect(rootNetnsSnapshot()).to.deep.equal(rootBefore);
  });

  /** The task's calls of `type`: ADD with the task's namespace, then DEL without one. */
  const expectAddThenDelWithoutNetns = (type: string) => {
    const calls = containerd.calls.filter((c) => c.includes(` ${type} `) && !c.startsWith("VERSION"));
    expect(calls).to.have.length(2);
    expect(calls[0]).to.match(new RegExp(`^ADD ${type} CNI_NETNS=/proc/\\d+/ns/net$`));
    expect(calls[1]).to.equal(`DEL ${type} CNI_NETNS=`);
  };
  const expectNoContainers = () => expect(containerd.ctrOk("containers", "list", "--quiet").trim()).to.equal("");

  it("bridge and host-local: the task has its address, route and MTU; --rm releases the address and the masquerade", () => {
    const ipamDir = join(containerd.dir, "networks");
    containerd.useNetwork({
      name: "tscni",
      cniVersion: "1.0.0",
      plugins: [
        {
          type: "bridge",
          bridge: "tscni0",
          isGateway: true,
          ipMasq: true,
          mtu: 1400,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.88.9.0/24" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: ipamDir,
          },
        },
      ],
    });

    const result = containerd.runWithCni("task1", SHOW_NETWORK("10.88.9.1"));
    expect(result.status, `${result.stdout}${result.stderr}\n${containerd.log}`).to.equal(0);
    expect(result.stdout).to.match(/^\d+: eth0\s+inet 10\.88\.9\.\d+\/24 /m);
    expect(result.stdout).to.match(/eth0.* mtu 1400 /);
    expect(result.stdout).to.match(/^default via 10\.88\.9\.1 dev eth0/m);
    expect(result.stdout).to.contain("1 packets received");

    expectAddThenDelWithoutNetns("bridge");
    expect(reservations(ipamDir, "tscni")).to.deep.equal([]);
    expect(bridgePorts(node, "tscni0")).to.deep.equal([]);
    expect(masqueradeChains(node)).to.deep.equal([]);
    expect(filesIn(join(containerd.cniCacheDir, "results"))).to.deep.equal([]);
    expectNoContainers();
  });

  it("flannel: the task gets an address of FLANNEL_SUBNET; --rm removes the saved delegate config and the reservation", () => {
    const subnetFile = join(containerd.dir, "subnet.env");
    writeFileSync(
      subnetFile,
      [
        "FLANNEL_NETWORK=10.244.0.0/16",
        "FLANNEL_SUBNET=10.244.5.1/24",
        "FLANNEL_MTU=1450",
        "FLANNEL_IPMASQ=true",
        "",
      ].join("\n"),
    );
    const dataDir = join(containerd.dir, "flannel");
    const ipamDir = join(containerd.dir, "flannel-networks");
    containerd.useNetwork(shippedFlannelConflist({ subnetFile, dataDir, ipamDataDir: ipamDir }));

    const result = containerd.runWithCni("task2", SHOW_NETWORK("10.244.5.1"));
    expect(result.status, `${result.stdout}${result.stderr}\n${containerd.log}`).to.equal(0);
    expect(result.stdout).to.match(/^\d+: eth0\s+inet 10\.244\.5\.\d+\/24 /m);
    expect(result.stdout).to.match(/eth0.* mtu 1450 /);
    expect(result.stdout).to.contain("1 packets received");

    expectAddThenDelWithoutNetns("flannel");
    expect(filesIn(dataDir)).to.deep.equal([]);
    expect(reservations(ipamDir, "cbr0")).to.deep.equal([]);
    expect(bridgePorts(node, "cni0")).to.deep.equal([]);
    expect(filesIn(join(containerd.cniCacheDir, "results"))).to.deep.equal([]);
    expectNoContainers();
  });
});
