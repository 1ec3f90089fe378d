// The driver under Node (tsx), with the checkout's node-gyp addon.
import { main } from "./main";

await main();
