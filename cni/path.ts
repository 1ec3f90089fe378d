// A directory joined with one file name, without node:path: in the compiled binary every builtin
// module costs a fraction of a millisecond to load, and a CNI command pays it on every invocation.
// The names joined here never contain "/" (plugin types and container IDs are validated first).

/** `directory/name`, the directory's trailing slashes dropped ("/" stays the root). */
export function joinPath(directory: string, name: string): string {
  if (directory === "") return name;
  return `${directory.replace(/\/+$/, "")}/${name}`;
}

/** The directory of a file path ("/opt/cni/bin/tscni" -> "/opt/cni/bin"). */
export function directoryOf(path: string): string {
  const slash = path.replace(/\/+$/, "").lastIndexOf("/");
  if (slash === -1) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}
