// The addon itself: entering and leaving namespaces, sysctls inside a namespace, system errors
// shaped like Node's, flock, receive timeouts, the argument checks at the C++ boundary, and a
// failed execveIgnoring (a successful one is tested on the binary: test/integration/binary).

import { expect } from "chai";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, type NativeBinding } from "../../../native/binding";
import { loadNative } from "../../../native/loader";
import { openHandle } from "../../../native/netlink/handle";
import { NETLINK_ROUTE } from "../../../native/netlink/constants";
import { thrown, useNetns } from "./fixture";

const threadNetns = (): number => statSync("/proc/thread-self/ns/net").ino;

describe("native addon", () => {
  let native: NativeBinding;

  before(async () => {
    native = await loadNative();
  });

  it("loads with the expected shape", () => {
    expect(native.abiVersion).to.equal(2);
    for (const name of [
      "netlinkOpen",
      "netlinkSend",
      "netlinkReceive",
      "closeFd",
      "sysctlRead",
      "sysctlWrite",
      "flock",
      "execveIgnoring",
    ]) {
      expect(native).to.have.property(name).that.is.a("function");
    }
  });

  describe("namespaces", () => {
    const host = useNetns("native");

    it("opens a socket that keeps operating in the namespace, and returns to the caller's", async () => {
      const before = threadNetns();
      host.ns.ip("link", "add", "only-here", "type", "bridge");
      const fd = native.netlinkOpen(NETLINK_ROUTE, host.ns.path);
      native.closeFd(fd);
      expect(threadNetns()).to.equal(before);
      expect(host.handle.findLink("only-here")).to.not.equal(undefined);
      // A read-only look at the process's own namespace, which must not have the link.
      const own = await openHandle();
      try {
        expect(own.findLink("only-here")).to.equal(undefined);
      } finally {
        own.close();
      }
    });

    it("reads and writes sysctls inside the namespace, leaving the root namespace's value alone", () => {
      const rootBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
      const inside = host.handle.sysctlRead("net/ipv4/ip_forward");
      const flipped = inside === "1" ? "0" : "1";
      host.handle.sysctlWrite("net/ipv4/ip_forward", flipped);
      expect(host.ns.sysctl("net.ipv4.ip_forward")).to.equal(flipped);
      expect(host.handle.sysctlRead("net/ipv4/ip_forward")).to.equal(flipped);
      expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).to.equal(rootBefore);
    });

    it("reaches per-interface keys whose interface names contain dots", () => {
      host.ns.ip("link", "add", "br.7", "type", "bridge");
      host.handle.sysctlWrite("net/ipv4/conf/br.7/forwarding", "1");
      // sysctl(8) writes a dot inside a name as "/".
      expect(host.ns.sysctl("net.ipv4.conf.br/7.forwarding")).to.equal("1");
      expect(native.sysctlRead(host.ns.path, "net/ipv4/conf/br.7/forwarding")).to.equal("1\n");
    });

    it("reports a missing sysctl as ENOENT from openat2, with the path", () => {
      const error = thrown(() => host.handle.sysctlRead("net/ipv4/conf/nope0/forwarding"));
      expect(error).to.include({
        errno: -2,
        code: "ENOENT",
        syscall: "openat2",
        path: "/proc/sys/net/ipv4/conf/nope0/forwarding",
      });
    });

    it("refuses a sysctl key outside net/ (.., ., empty components, absolute paths, NUL) in C++ too, even when TypeScript's check is bypassed", () => {
      for (const key of [
        "net/../kernel/hostname",
        "net/ipv4/conf/..",
        "net/./ipv4/ip_forward",
        "net//ipv4/ip_forward",
        "/net/ipv4/ip_forward",
        "/proc/sys/net/ipv4/ip_forward",
        "kernel/hostname",
        "net/ipv4\0/ip_forward",
      ]) {
        expect(() => native.sysctlRead(host.ns.path, key), key).to.throw(TypeError, /usage/);
        expect(() => native.sysctlWrite(host.ns.path, key, "1"), key).to.throw(TypeError, /usage/);
      }
      expect(() => native.sysctlWrite(null, "kernel/hostname", "x")).to.throw(TypeError, /usage/);
    });

    it("times out a receive with nothing to read as ETIMEDOUT from poll", () => {
      const fd = native.netlinkOpen(NETLINK_ROUTE, host.ns.path);
      try {
        expect(thrown(() => native.netlinkReceive(fd, 20))).to.include({ code: "ETIMEDOUT", syscall: "poll" });
      } finally {
        native.closeFd(fd);
      }
    });
  });

  describe("errors", () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "tscni-native-"));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it("reports a missing namespace path as ENOENT from open, with a negative errno", () => {
      const before = threadNetns();
      const error = thrown(() => native.netlinkOpen(NETLINK_ROUTE, join(dir, "gone")));
      expect(error).to.be.instanceOf(Error);
      expect(error).to.include({ errno: -2, code: "ENOENT", syscall: "open", path: join(dir, "gone") });
      expect((error as Error).message).to.match(/^open ENOENT: /);
      expect(threadNetns()).to.equal(before);
    });

    it("reports a file that is not a namespace as EINVAL from setns", () => {
      const before = threadNetns();
      writeFileSync(join(dir, "plain"), "");
      expect(thrown(() => native.netlinkOpen(NETLINK_ROUTE, join(dir, "plain")))).to.include({
        errno: -22,
        code: "EINVAL",
        syscall: "setns",
      });
      // A namespace of another type is refused the same way.
      expect(thrown(() => native.netlinkOpen(NETLINK_ROUTE, "/proc/self/ns/mnt"))).to.include({ code: "EINVAL" });
      expect(threadNetns()).to.equal(before);
    });

    it("reports a descriptor that is not open as EBADF", () => {
      // Far above any descriptor limit, so it can never be one that another part of the process uses.
      expect(thrown(() => native.closeFd(0x7ffffff0))).to.include({ code: "EBADF", syscall: "close", errno: -9 });
    });

    it("throws TypeError for arguments of the wrong type, before any syscall", () => {
      // The addon's own checks are for callers that got around the types, so call it untyped.
      const untyped = native as unknown as Record<
        "netlinkOpen" | "netlinkSend" | "closeFd",
        (...args: unknown[]) => unknown
      >;
      expect(() => untyped.netlinkOpen("0", null)).to.throw(TypeError);
      expect(() => untyped.netlinkOpen(NETLINK_ROUTE, "")).to.throw(TypeError);
      expect(() => untyped.netlinkSend(3, "bytes")).to.throw(TypeError);
      expect(() => untyped.netlinkSend(3, new Uint16Array(4))).to.throw(TypeError);
      for (const fd of [-1, 1.5, NaN, Infinity, 2 ** 31, "3"]) {
        expect(() => untyped.closeFd(fd), String(fd)).to.throw(TypeError);
      }
    });
  });

  describe("flock", () => {
    let dir: string;
    const fds: number[] = [];

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "tscni-flock-"));
    });
    afterEach(() => {
      for (const fd of fds.splice(0)) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    });

    const openLockFile = (): number => {
      const fd = openSync(join(dir, "lock"), "a+");
      fds.push(fd);
      return fd;
    };

    it("refuses LOCK_EX|LOCK_NB from a second descriptor while the first holds LOCK_EX", () => {
      const first = openLockFile();
      const second = openLockFile();
      native.flock(first, LOCK_EX);
      const error = thrown(() => native.flock(second, LOCK_EX | LOCK_NB));
      expect(error).to.include({ syscall: "flock", errno: -11 });
      expect((error as { code: string }).code).to.be.oneOf(["EAGAIN", "EWOULDBLOCK"]);
      native.flock(first, LOCK_UN);
      native.flock(second, LOCK_EX | LOCK_NB);
    });

    it("lets shared locks coexist and keeps exclusive ones out", () => {
      const first = openLockFile();
      const second = openLockFile();
      const third = openLockFile();
      native.flock(first, LOCK_SH);
      native.flock(second, LOCK_SH | LOCK_NB);
      expect(thrown(() => native.flock(third, LOCK_EX | LOCK_NB))).to.include({ errno: -11 });
    });
  });

  describe("execveIgnoring", () => {
    const SIGPWR = 30;
    const ignoredSignals = (): bigint => {
      const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("SigIgn:"));
      return BigInt(`0x${line?.split(/\s+/)[1] ?? "0"}`);
    };
    const isIgnored = (signal: number): boolean => ((ignoredSignals() >> BigInt(signal - 1)) & 1n) === 1n;

    it("throws execve's system error when the file cannot run, with the signal's disposition restored", () => {
      expect(isIgnored(SIGPWR)).to.equal(false);
      const error = thrown(() => native.execveIgnoring(SIGPWR, "/nonexistent/tscni", ["tscni"], ["A=b"]));
      expect(error).to.include({ syscall: "execve", code: "ENOENT", path: "/nonexistent/tscni" });
      expect(isIgnored(SIGPWR)).to.equal(false);
    });

    it("refuses arguments that are not string arrays", () => {
      const call = native.execveIgnoring as unknown as (...args: unknown[]) => void;
      expect(() => call(SIGPWR, "/bin/true", "tscni", [])).to.throw(TypeError, /usage: execveIgnoring/);
      expect(() => call(SIGPWR, "/bin/true", ["tscni", 1], [])).to.throw(TypeError, /usage: execveIgnoring/);
    });
  });
});
