// The forwarding state behind a Handle's route, neighbour and FDB verbs: which message type and
// flags each verb sends, and how dumps are narrowed (the kernel ignores most dump filters unless
// a socket opts into strict checking, so the filters are applied here as well).

import type { NetlinkConnection } from "./connection";
import {
  AF_BRIDGE,
  AF_UNSPEC,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
} from "./constants";
import { familyNumber, ipFamilyOf } from "./ip";
import {
  decodeFdbEntry,
  decodeNeighbour,
  type FdbEntry,
  type FdbFilter,
  fdbDumpRequest,
  fdbRequest,
  type FdbSpec,
  type Neighbour,
  neighbourDelRequest,
  neighbourDumpRequest,
  type NeighbourFilter,
  neighbourMessageFamily,
  neighbourRequest,
  type NeighbourSpec,
} from "./neighbour";
import {
  decodeRoute,
  encodeRtMsg,
  matchesRouteFilter,
  type Route,
  routeFamily,
  type RouteFilter,
  routeRequest,
  type RouteSpec,
} from "./route";

const ADD = NLM_F_CREATE | NLM_F_EXCL;
const REPLACE = NLM_F_CREATE | NLM_F_REPLACE;
const APPEND = NLM_F_CREATE | NLM_F_APPEND;

export type RouteVerb = "routeAdd" | "routeAddEcmp" | "routeReplace" | "routeDel";
export type FdbVerb = "fdbAppend" | "fdbReplace" | "fdbDel";

const ROUTE_VERBS = {
  routeAdd: { type: RTM_NEWROUTE, flags: ADD },
  routeAddEcmp: { type: RTM_NEWROUTE, flags: NLM_F_CREATE },
  routeReplace: { type: RTM_NEWROUTE, flags: REPLACE },
  routeDel: { type: RTM_DELROUTE, flags: 0 },
} as const satisfies Record<RouteVerb, unknown>;

const FDB_VERBS = {
  fdbAppend: { type: RTM_NEWNEIGH, flags: APPEND },
  fdbReplace: { type: RTM_NEWNEIGH, flags: REPLACE },
  fdbDel: { type: RTM_DELNEIGH, flags: 0 },
} as const satisfies Record<FdbVerb, unknown>;

export function listRoutes(connection: NetlinkConnection, filter: RouteFilter): Route[] {
  const family = filter.family === undefined ? AF_UNSPEC : familyNumber(filter.family);
  return connection
    .dump({ operation: "routeList", type: RTM_GETROUTE, body: encodeRtMsg({ family }) })
    .filter((m) => m.type === RTM_NEWROUTE && routeFamily(m.payload) !== undefined)
    .map((m) => decodeRoute(m.payload))
    .filter((route) => matchesRouteFilter(route, filter));
}

export function changeRoute(connection: NetlinkConnection, verb: RouteVerb, spec: RouteSpec): void {
  const request = routeRequest(spec, verb === "routeDel" ? "delete" : "change");
  connection.execute({ operation: `${verb} ${spec.dst}`, ...ROUTE_VERBS[verb], ...request });
}

export function listNeighbours(connection: NetlinkConnection, filter: NeighbourFilter): Neighbour[] {
  const request = neighbourDumpRequest(filter.family, filter.linkIndex);
  return connection
    .dump({ operation: "neighList", type: RTM_GETNEIGH, ...request })
    .filter((m) => m.type === RTM_NEWNEIGH && ipFamilyOf(neighbourMessageFamily(m.payload) ?? AF_UNSPEC) !== undefined)
    .map((m) => decodeNeighbour(m.payload))
    .filter((n) => filter.family === undefined || n.family === filter.family)
    .filter((n) => filter.linkIndex === undefined || n.linkIndex === filter.linkIndex);
}

export function replaceNeighbour(connection: NetlinkConnection, linkIndex: number, spec: NeighbourSpec): void {
  const operation = `neighReplace #${linkIndex} ${spec.ip}`;
  connection.execute({ operation, type: RTM_NEWNEIGH, flags: REPLACE, ...neighbourRequest(linkIndex, spec) });
}

export function deleteNeighbour(connection: NetlinkConnection, linkIndex: number, ip: string): void {
  const operation = `neighDel #${linkIndex} ${ip}`;
  connection.execute({ operation, type: RTM_DELNEIGH, ...neighbourDelRequest(linkIndex, ip) });
}

export function listFdb(connection: NetlinkConnection, filter: FdbFilter): FdbEntry[] {
  return connection
    .dump({ operation: "fdbList", type: RTM_GETNEIGH, ...fdbDumpRequest() })
    .filter((m) => m.type === RTM_NEWNEIGH && neighbourMessageFamily(m.payload) === AF_BRIDGE)
    .map((m) => decodeFdbEntry(m.payload))
    .filter((entry) => filter.linkIndex === undefined || entry.linkIndex === filter.linkIndex);
}

export function changeFdb(connection: NetlinkConnection, verb: FdbVerb, linkIndex: number, spec: FdbSpec): void {
  const operation = `${verb} #${linkIndex} ${spec.mac}`;
  connection.execute({ operation, ...FDB_VERBS[verb], ...fdbRequest(linkIndex, spec) });
}
