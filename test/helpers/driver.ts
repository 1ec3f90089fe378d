// The libcni driver for tests: the lab's driver (netlab/cni-driver.ts) in a scratch directory.

import { CniDriver } from "../../netlab/cni-driver";
import { DRIVER, scratchDir } from "./suite";

export class DriverWorkspace extends CniDriver {
  constructor() {
    super(DRIVER, scratchDir("driver"));
  }
}
