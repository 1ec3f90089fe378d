// Per-test namespaces with a Handle opened in each, and the shapes of the `ip -j` / `bridge -j`
// output the tests use as their oracle. The namespaces (and with them every link, address, route
// and neighbour made in them) go away after each test, whether it passed or not.

import { type Handle, openHandle } from "../../../native/netlink/handle";
import { TestNetns } from "../../helpers/netns";

export class NetnsFixture {
  private readonly label: string;
  private current: { readonly ns: TestNetns; readonly handle: Handle } | undefined;

  constructor(label: string) {
    this.label = label;
  }

  get ns(): TestNetns {
    if (this.current === undefined) throw new Error(`namespace "${this.label}" is used outside a test`);
    return this.current.ns;
  }

  get handle(): Handle {
    if (this.current === undefined) throw new Error(`namespace "${this.label}" is used outside a test`);
    return this.current.handle;
  }

  async setUp(): Promise<void> {
    const ns = TestNetns.create(this.label, { loUp: true });
    try {
      this.current = { ns, handle: await openHandle(ns.path) };
    } catch (error: unknown) {
      ns.delete();
      throw error;
    }
  }

  tearDown(): void {
    const current = this.current;
    this.current = undefined;
    if (current === undefined) return;
    try {
      current.handle.close();
    } finally {
      current.ns.delete();
    }
  }
}

/** A fresh namespace and handle for every test of the enclosing `describe`. */
export function useNetns(label: string): NetnsFixture {
  const fixture = new NetnsFixture(label);
  beforeEach(async () => fixture.setUp());
  afterEach(() => fixture.tearDown());
  return fixture;
}

/** The error a call threw (the test fails if it threw nothing). */
export function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error: unknown) {
    return error;
  }
  throw new Error("expected the call to throw");
}

// ---------------------------------------------------------------------------------------------
// `ip -j` and `bridge -j` output (iproute2 6.1), as far as the tests read it

/** `ip -d -j link show dev <name>` in `ns`; throws when there is no such link. */
export function ipLink(ns: TestNetns, name: string): IpLink {
  const [link] = ns.ipJson<IpLink[]>("-d", "link", "show", "dev", name);
  if (link === undefined) throw new Error(`ip shows no link ${name} in ${ns.name}`);
  return link;
}

export interface IpLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly address?: string;
  readonly master?: string;
  readonly link?: string;
  readonly link_netnsid?: number;
  readonly operstate?: string;
  readonly linkinfo?: {
    readonly info_kind?: string;
    readonly info_data?: Readonly<Record<string, unknown>>;
    readonly info_slave_kind?: string;
    readonly info_slave_data?: Readonly<Record<string, unknown>>;
  };
}

export interface IpAddressInfo {
  readonly family: "inet" | "inet6";
  readonly local: string;
  readonly prefixlen: number;
  readonly broadcast?: string;
  readonly scope: string;
  readonly label?: string;
  readonly nodad?: boolean;
  readonly noprefixroute?: boolean;
}

export interface IpAddress {
  readonly ifindex: number;
  readonly ifname: string;
  readonly addr_info: readonly IpAddressInfo[];
}

export interface IpRoute {
  readonly type?: string;
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly table?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly prefsrc?: string;
  readonly metric?: number;
  readonly flags: readonly string[];
  readonly metrics?: readonly Readonly<Record<string, number>>[];
  readonly nexthops?: readonly { readonly gateway?: string; readonly dev: string; readonly weight: number }[];
}

export interface IpNeighbour {
  readonly dst: string;
  readonly dev?: string;
  readonly lladdr?: string;
  readonly state: readonly string[];
  readonly router?: null;
}

export interface BridgeFdbEntry {
  readonly mac: string;
  readonly ifname?: string;
  readonly dst?: string;
  readonly port?: number;
  readonly vni?: number;
  readonly vlan?: number;
  readonly master?: string;
  readonly flags: readonly string[];
  readonly state: string;
}
