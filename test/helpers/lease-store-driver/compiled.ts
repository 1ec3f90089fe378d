// The driver as a Bun-compiled binary, built like dist/tscni (embedded addon, same flags): the
// stores run on the runtime they ship on.
import embeddedAddon from "../../../native/build/Release/tscni_native.node" with { type: "file" };
import { setNativeLoader } from "../../../native/loader";
import { main } from "./main";

setNativeLoader(async () => (await import("../../../native/embedded")).loadEmbeddedAddon(embeddedAddon));
await main();
