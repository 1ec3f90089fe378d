// Sysctl writes stay inside the network namespace's /proc/sys/net: a write is refused, and the
// planted file is left alone, when something other than procfs is mounted over /proc/sys/net, over
// a directory below it, or over the sysctl file itself (a bind mount), or when a symlink would
// lead elsewhere. Each case runs in a test namespace under a private mount namespace made for it:
// nothing is mounted where the host or another test could see it, and a write that got through
// would land in a scratch file, never in a real sysctl.

import { expect } from "chai";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { TestNetns } from "../../helpers/netns";
import { runOk } from "../../helpers/run";
import { REPO_ROOT, scratchDir } from "../../helpers/suite";

const WRITER = join(REPO_ROOT, "test/fixtures/sysctl/write-sysctl.ts");

// A fixed script; the mount point, the planted paths and the key arrive as positional arguments.
const SCRIPT = `
set -e
mode="$1"; mountpoint="$2"; target="$3"; key="$4"; shift 4
case "$mode" in
  tmpfs) mount -t tmpfs tscni-test "$mountpoint"; mkdir -p "$mountpoint/ipv4/conf/lo"; echo 0 > "$mountpoint/ipv4/ip_forward" ;;
  symlink) mount -t tmpfs tscni-test "$mountpoint"; mkdir -p "$mountpoint/lo"; ln -s "$target" "$mountpoint/lo/forwarding" ;;
  bind) mount --bind "$target" "$mountpoint" ;;
esac
exec "$@" "$key" 1
`;

describe("native addon: sysctl writes confined to the namespace's /proc/sys/net", function () {
  this.timeout(30_000);
  let ns: TestNetns;
  let dir: string;
  let target: string;

  beforeEach(() => {
    ns = TestNetns.create("sysctl", { loUp: true });
    dir = scratchDir("sysctl-confinement");
    target = join(dir, "target");
    writeFileSync(target, "0\n");
  });
  afterEach(() => {
    ns.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  const attempt = (mode: string, mountpoint: string, key: string): unknown => {
    const out = runOk("ip", [
      ...["netns", "exec", ns.name, "unshare", "--mount", "--propagation", "private"],
      ...["sh", "-c", SCRIPT, "sh", mode, mountpoint, target, key],
      ...[process.execPath, "--import", "tsx", WRITER],
    ]);
    return JSON.parse(out.trim().split("\n").at(-1) ?? "null");
  };

  it("control: the same writer reaches the namespace's sysctl when nothing is planted", () => {
    expect(attempt("none", "/proc/sys/net", "net/ipv4/conf/lo/forwarding")).to.deep.equal({ written: true });
    expect(ns.sysctl("net.ipv4.conf.lo.forwarding")).to.equal("1");
  });

  it("refuses when /proc/sys/net is not procfs", () => {
    expect(attempt("tmpfs", "/proc/sys/net", "net/ipv4/ip_forward")).to.deep.equal({
      code: "EXDEV",
      syscall: "fstatfs",
    });
  });

  it("refuses to cross a mount below /proc/sys/net, where a symlink would lead out", () => {
    expect(attempt("symlink", "/proc/sys/net/ipv4/conf", "net/ipv4/conf/lo/forwarding")).to.deep.equal({
      code: "EXDEV",
      syscall: "openat2",
    });
    expect(readFileSync(target, "utf8")).to.equal("0\n");
  });

  it("refuses a file bind-mounted over the sysctl", () => {
    expect(attempt("bind", "/proc/sys/net/ipv4/conf/lo/forwarding", "net/ipv4/conf/lo/forwarding")).to.deep.equal({
      code: "EXDEV",
      syscall: "openat2",
    });
    expect(readFileSync(target, "utf8")).to.equal("0\n");
    expect(ns.sysctl("net.ipv4.conf.lo.forwarding")).to.equal("0");
  });
});
