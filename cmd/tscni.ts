// Entry point of the compiled binary (bun build --compile). Everything else is plain TypeScript
// that also runs under Node; only this file knows about the embedded addon.

import embeddedAddon from "../native/build/Release/tscni_native.node" with { type: "file" };
import { setNativeLoader } from "../native/loader";
import { execWithoutEngineSignal } from "./exec-clean";
import { main } from "./main";
import { processIo } from "./process-io";
import { dropRuntimeControls } from "./runtime-environment";

setNativeLoader(async () => (await import("../native/embedded")).loadEmbeddedAddon(embeddedAddon));

// Before anything else: Bun's own variables (BUN_OPTIONS, BUN_INSPECT...) must not stay in effect.
await dropRuntimeControls(process, execWithoutEngineSignal, (line) => console.error(line));

// Until main settles: if the event loop ever drained with main pending (a promise nothing will
// resolve), exiting 0 after an error reply would tell the runtime the command succeeded.
process.exitCode = 70;
main({
  argv0: process.argv0,
  args: process.argv.slice(2),
  io: processIo(),
  selfExecutable: process.execPath,
}).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    // Only a defect in the dispatcher itself gets here; plugins' errors are CNI error replies.
    console.error(error);
    process.exitCode = 70;
  },
);
