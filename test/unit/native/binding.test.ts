// The checks on the TypeScript side of the addon boundary: the shape and ABI of what a dlopen()
// returned, the validation of sysctl keys, descriptors and execve arguments, and the loader's error
// reporting.

import { expect } from "chai";

import {
  asNativeBinding,
  checkExecArguments,
  checkFd,
  checkSysctlKey,
  EXPECTED_ABI_VERSION,
  hasErrorCode,
  isSystemError,
  LOCK_EX,
  LOCK_NB,
  LOCK_SH,
  LOCK_UN,
} from "../../../native/binding";
import {
  dlopenAddon,
  loadDevelopmentAddon,
  loadNative,
  NativeLoadError,
  setNativeLoader,
} from "../../../native/loader";
import { FakeKernel, fakeHandle } from "./support/fake-kernel";

const FUNCTIONS = ["netlinkOpen", "netlinkSend", "netlinkReceive", "closeFd", "sysctlRead", "sysctlWrite", "flock", "execveIgnoring"];

function exportsWith(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const exports: Record<string, unknown> = { abiVersion: EXPECTED_ABI_VERSION };
  for (const name of FUNCTIONS) exports[name] = () => undefined;
  return { ...exports, ...overrides };
}

describe("native binding", () => {
  describe("asNativeBinding", () => {
    it("accepts an object with every function and the expected ABI version", () => {
      const exports = exportsWith();
      expect(asNativeBinding(exports, "test")).to.equal(exports);
      const kernel = new FakeKernel();
      expect(asNativeBinding(kernel, "fake")).to.equal(kernel);
    });

    for (const value of [undefined, null, 42, "addon", () => undefined]) {
      it(`rejects ${typeof value === "function" ? "a function" : String(value)}`, () => {
        expect(() => asNativeBinding(value, "/x.node")).to.throw(Error, /native addon from \/x\.node exported/);
      });
    }

    it("names every missing or non-function export", () => {
      const exports = exportsWith({ flock: undefined, sysctlRead: "sysctlRead" });
      expect(() => asNativeBinding(exports, "/x.node")).to.throw(
        Error,
        "native addon from /x.node lacks sysctlRead, flock",
      );
    });

    for (const abiVersion of [undefined, EXPECTED_ABI_VERSION + 1, String(EXPECTED_ABI_VERSION), 0]) {
      it(`rejects ABI version ${JSON.stringify(abiVersion)}, asking for a rebuild`, () => {
        expect(() => asNativeBinding(exportsWith({ abiVersion }), "/x.node")).to.throw(Error, /ABI version .*rebuild/);
      });
    }
  });

  describe("system errors", () => {
    const enoent = Object.assign(new Error("open ENOENT"), { errno: -2, code: "ENOENT", syscall: "open" });

    it("recognises errors shaped like Node's system errors", () => {
      expect(isSystemError(enoent)).to.equal(true);
      expect(isSystemError({ code: "ENOENT", syscall: "open" })).to.equal(false); // not an Error
      expect(isSystemError(Object.assign(new Error("x"), { code: "ENOENT" }))).to.equal(false); // no syscall
      expect(hasErrorCode(enoent, "EEXIST", "ENOENT")).to.equal(true);
      expect(hasErrorCode(enoent, "EEXIST")).to.equal(false);
    });
  });

  describe("checkSysctlKey", () => {
    for (const key of ["net/ipv4/ip_forward", "net/ipv4/conf/eth0/forwarding", "net/ipv4/conf/br.100/rp_filter"]) {
      it(`accepts ${key}`, () => {
        expect(() => checkSysctlKey(key)).to.not.throw();
      });
    }

    for (const key of [
      "net/../kernel/hostname",
      "net/ipv4/../../kernel/core_pattern",
      "net/ipv4/conf/..",
      "net/./ipv4/ip_forward",
      "kernel/hostname",
      "/net/ipv4/ip_forward",
      "net",
      "net/",
      "net//ipv4",
      "net/ipv4/ip_forward/",
      "net/ipv4\0/ip_forward",
      "../net/ipv4/ip_forward",
      "network/ipv4",
    ]) {
      it(`rejects ${JSON.stringify(key)}`, () => {
        expect(() => checkSysctlKey(key)).to.throw(RangeError, /is not a path under net\//);
      });
    }

    it("is checked before the handle calls into the addon", () => {
      const { handle, kernel } = fakeHandle();
      expect(() => handle.sysctlRead("net/../kernel/hostname")).to.throw(RangeError);
      expect(() => handle.sysctlWrite("net/ipv4/../../kernel/core_pattern", "|/x")).to.throw(RangeError);
      expect(kernel.sysctlCalls).to.deep.equal([]);
      expect(handle.sysctlRead("net/ipv4/ip_forward")).to.equal("1");
      handle.sysctlWrite("net/ipv4/ip_forward", "0");
      expect(kernel.sysctlCalls).to.deep.equal([
        "read /run/netns/fake net/ipv4/ip_forward",
        "write /run/netns/fake net/ipv4/ip_forward 0",
      ]);
    });
  });

  describe("checkExecArguments", () => {
    it("accepts a file, arguments and NAME=value entries", () => {
      expect(() => checkExecArguments("/opt/cni/bin/tscni", ["bridge"], ["CNI_COMMAND=ADD", "EMPTY="])).not.to.throw();
    });

    for (const [what, file, argv, envp] of [
      ["a NUL in the file", "/opt/cni/bin/tscni\0x", [], []],
      ["a NUL in an argument", "/bin/true", ["a\0b"], []],
      ["a NUL in an environment entry", "/bin/true", [], ["A=b\0c"]],
      ["an entry without '='", "/bin/true", [], ["JUSTANAME"]],
      ["an entry with an empty name", "/bin/true", [], ["=value"]],
    ] as const) {
      it(`rejects ${what}`, () => {
        expect(() => checkExecArguments(file, argv, envp)).to.throw(RangeError);
      });
    }
  });

  describe("checkFd and flock constants", () => {
    it("accepts descriptors in int range only", () => {
      for (const fd of [0, 3, 0x7fffffff]) expect(() => checkFd(fd)).to.not.throw();
      for (const fd of [-1, 1.5, NaN, Infinity, 0x80000000]) expect(() => checkFd(fd)).to.throw(RangeError);
    });

    it("uses the values of <sys/file.h>", () => {
      expect([LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN]).to.deep.equal([1, 2, 4, 8]);
    });
  });

  describe("loader", () => {
    it("reports every attempt, keeping the last error as the cause", () => {
      const last = new Error("ELF header invalid");
      const error = new NativeLoadError([
        { method: "memfd_create", error: new Error("ENOSYS") },
        { method: "O_TMPFILE in /opt/cni/bin", error: last },
      ]);
      expect(error.message).to.equal(
        "cannot load the native netlink addon; tried:\n  - memfd_create: ENOSYS\n  - O_TMPFILE in /opt/cni/bin: ELF header invalid",
      );
      expect(error.cause).to.equal(last);
    });

    it("fails to dlopen a file that does not exist", () => {
      expect(() => dlopenAddon("/nonexistent/tscni_native.node", "test")).to.throw(Error);
    });

    it("loads once through the installed loader, and again after a new one is installed", async () => {
      const first = new FakeKernel();
      const second = new FakeKernel();
      let calls = 0;
      try {
        setNativeLoader(async () => {
          calls++;
          return first;
        });
        expect(await loadNative()).to.equal(first);
        expect(await loadNative()).to.equal(first);
        setNativeLoader(async () => second);
        expect(await loadNative()).to.equal(second);
        expect(calls).to.equal(1);
      } finally {
        // Put the default back for whatever runs next in this process.
        setNativeLoader(loadDevelopmentAddon);
      }
    });
  });
});
