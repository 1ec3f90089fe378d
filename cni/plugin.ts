// What a plugin implements, and what each of its commands receives. The skeleton (skel.ts) owns
// the protocol; a plugin only writes these commands.

import type { CniArgs } from "./cni-args";
import type { Env } from "./io";
import type { Invoker } from "./invoke";
import type { JsonObject } from "./json";
import type { Logger } from "./log";
import type { Result } from "./result";
import type { SpecVersion } from "./version";

/** The part of the network configuration the skeleton validates for every plugin. */
export interface NetConf {
  readonly cniVersion: SpecVersion;
  readonly name: string;
  readonly type: string;
  /** The whole configuration object as received; plugins parse their own keys from it. */
  readonly raw: JsonObject;
}

/** What every command receives. */
export interface RequestBase {
  readonly config: NetConf;
  /** The exact stdin bytes, handed unchanged to delegates (IPAM) as the spec requires. */
  readonly stdin: Uint8Array;
  readonly env: Env;
  readonly cniPath: readonly string[];
  readonly logger: Logger;
  /** Runs delegated plugins (IPAM, flannel's bridge) found in CNI_PATH. */
  readonly invoke: Invoker;
}

interface AttachmentBase extends RequestBase {
  readonly containerId: string;
  readonly ifName: string;
  readonly cniArgs: CniArgs;
  /** The previous plugin's result in a chain, converted to the current shape. */
  readonly prevResult: Result | undefined;
}

export interface AddRequest extends AttachmentBase {
  readonly netns: string;
}

export interface CheckRequest extends AttachmentBase {
  readonly netns: string;
}

/**
 * DEL may come without a namespace (containerd passes CNI_NETNS empty) or after the namespace was
 * removed; it must clean up what it can and succeed either way.
 */
export type DelNetns =
  | { readonly state: "present"; readonly path: string }
  | { readonly state: "gone"; readonly path: string }
  | { readonly state: "unspecified" };

export interface DelRequest extends AttachmentBase {
  readonly netns: DelNetns;
}

export interface Attachment {
  readonly containerId: string;
  readonly ifName: string;
}

export interface GcRequest extends RequestBase {
  /** Attachments that are still valid; undefined when the runtime sent no list (libcni's nil args). */
  readonly validAttachments: readonly Attachment[] | undefined;
}

export type StatusRequest = RequestBase;

export interface PluginCommands {
  add(request: AddRequest): Promise<Result>;
  check(request: CheckRequest): Promise<void>;
  del(request: DelRequest): Promise<void>;
  /** Absent: GC succeeds without doing anything, as skel does for plugins without one. */
  gc?(request: GcRequest): Promise<void>;
  /** Absent: the plugin is always ready. */
  status?(request: StatusRequest): Promise<void>;
}

/** A plugin as the multi-call binary knows it; its commands load only when a verb needs them. */
export interface Plugin {
  readonly name: string;
  readonly versions: readonly SpecVersion[];
  load(): Promise<PluginCommands>;
}
