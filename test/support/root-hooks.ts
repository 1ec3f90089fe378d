// Root hooks for the integration and end-to-end phases: they need root (namespaces, netlink), and
// they must leave nothing behind even when a test fails half-way.
import { deleteAllTestNetns } from "../helpers/netns";
import { removeInstalledSuite } from "../helpers/suite";

export const mochaHooks = {
  beforeAll(): void {
    if (process.getuid?.() !== 0) {
      throw new Error("integration and end-to-end tests need root: run them with sudo (make test does)");
    }
  },
  afterAll(): void {
    deleteAllTestNetns();
    removeInstalledSuite();
  },
};
