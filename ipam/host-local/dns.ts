// `resolvConf`: the DNS settings of the result, read from a resolv.conf-style file as the
// reference does (nameserver, domain, search and options lines; comments start with # or ;).

import { readFileSync } from "node:fs";

import type { Dns } from "../../cni/result";

export function readResolvConf(path: string): Dns {
  return parseResolvConf(readFileSync(path, "utf8"));
}

export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const [keyword, ...values] = fields;
    if (keyword === undefined || keyword.startsWith("#") || keyword.startsWith(";") || values.length === 0) continue;
    switch (keyword) {
      case "nameserver":
        nameservers.push(values[0]!);
        break;
      case "domain":
        domain = values[0];
        break;
      case "search":
        search.push(...values);
        break;
      case "options":
        options.push(...values);
        break;
    }
  }
  return {
    ...(nameservers.length > 0 ? { nameservers } : {}),
    ...(domain !== undefined ? { domain } : {}),
    ...(search.length > 0 ? { search } : {}),
    ...(options.length > 0 ? { options } : {}),
  };
}
