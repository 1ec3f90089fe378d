// Commands for tests: the lab's runner (no shell, arguments as an array).
export { run, runAsync, runOk, type RunResult } from "../../netlab/run";
