// The agent's metrics, rendered in the Prometheus text exposition format (version 0.0.4). A few
// counters and gauges with labels do not justify a client library in the binary.

type Labels = Readonly<Record<string, string>>;

abstract class Metric {
  readonly name: string;
  readonly help: string;
  protected readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  abstract readonly type: "counter" | "gauge";

  protected update(labels: Labels, change: (previous: number) => number): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value = change(entry.value);
    this.values.set(key, entry);
  }

  value(labels: Labels = {}): number | undefined {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    return this.values.get(key)?.value;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values()) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${this.name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    }
    return lines;
  }
}

export class Counter extends Metric {
  readonly type = "counter";

  inc(labels: Labels = {}, amount = 1): void {
    this.update(labels, (previous) => previous + amount);
  }
}

export class Gauge extends Metric {
  readonly type = "gauge";

  set(labels: Labels, value: number): void {
    this.update(labels, () => value);
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Everything the agent reports. Families are labelled "ipv4" / "ipv6". */
export class AgentMetrics {
  readonly peers = new Gauge("tscni_agent_peers", "Remote nodes programmed on the VXLAN device.");
  readonly reconcileRuns = new Counter("tscni_agent_reconcile_runs_total", "Reconcile passes run.");
  readonly reconcileAdditions = new Counter(
    "tscni_agent_reconcile_additions_total",
    "Kernel entries (route, neighbour, fdb) a reconcile pass added because they were missing or wrong.",
  );
  readonly reconcileRemovals = new Counter(
    "tscni_agent_reconcile_removals_total",
    "Kernel entries (route, neighbour, fdb) a reconcile pass removed because no lease wanted them.",
  );
  readonly eventChanges = new Counter(
    "tscni_agent_event_changes_total",
    "Kernel entries added or removed in response to lease events.",
  );
  readonly deviceRecreations = new Counter(
    "tscni_agent_device_recreations_total",
    "VXLAN devices (re)created after they had disappeared or no longer matched the configuration.",
  );
  readonly errors = new Counter("tscni_agent_errors_total", "Failed operations, by operation.");
  readonly leaseExpiration = new Gauge(
    "tscni_agent_lease_expiration_timestamp_seconds",
    "When this node's subnet lease expires unless renewed (Unix time); 0 for a lease without TTL.",
  );
  readonly ready = new Gauge("tscni_agent_ready", "1 once subnet.env is written and the overlay rules are in place.");

  render(): string {
    const metrics: Metric[] = [
      this.peers,
      this.reconcileRuns,
      this.reconcileAdditions,
      this.reconcileRemovals,
      this.eventChanges,
      this.deviceRecreations,
      this.errors,
      this.leaseExpiration,
      this.ready,
    ];
    return `${metrics.flatMap((m) => m.render()).join("\n")}\n`;
  }
}
