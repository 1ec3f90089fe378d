// The agent benchmark's figures: percentiles, and one table of every figure with its target.

export type Target =
  | { readonly kind: "ratio at most"; readonly value: number }
  | { readonly kind: "ratio at least"; readonly value: number }
  | { readonly kind: "below"; readonly value: number }
  | { readonly kind: "none" };

export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly tscni: number;
  /** The hand-made reference measured in the same run, when there is one. */
  readonly reference?: number;
  /** tscni/reference when it is not the ratio of the two figures (e.g. the median of paired runs' ratios). */
  readonly ratio?: number;
  readonly target: Target;
}

/** The value at quantile `q` (nearest rank) of the samples. */
export function percentile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** The middle sample, or the mean of the two middle ones. */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle)
    ? ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2
    : (sorted[Math.floor(middle)] ?? NaN);
}

function ratioOf(figure: Figure): number | undefined {
  return figure.ratio ?? (figure.reference === undefined ? undefined : figure.tscni / figure.reference);
}

export function meetsTarget(figure: Figure): boolean {
  const ratio = ratioOf(figure);
  switch (figure.target.kind) {
    case "ratio at most":
      return ratio !== undefined && ratio <= figure.target.value;
    case "ratio at least":
      return ratio !== undefined && ratio >= figure.target.value;
    case "below":
      return figure.tscni < figure.target.value;
    case "none":
      return true;
  }
}

function targetText(figure: Figure): string {
  switch (figure.target.kind) {
    case "ratio at most":
      return `ratio <= ${figure.target.value}`;
    case "ratio at least":
      return `ratio >= ${figure.target.value}`;
    case "below":
      return `< ${figure.target.value} ${figure.unit}`;
    case "none":
      return "(figure only)";
  }
}

const number = (value: number, unit: string): string =>
  `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${unit}`;

/** Prints the figures as a Markdown table; returns whether every target was met. */
export function printFigures(title: string, figures: readonly Figure[]): boolean {
  const rows = figures.map((figure) => {
    const ratio = ratioOf(figure);
    return [
      figure.name,
      number(figure.tscni, figure.unit),
      figure.reference === undefined ? "-" : number(figure.reference, figure.unit),
      ratio === undefined ? "-" : `${ratio.toFixed(3)}x`,
      targetText(figure),
      figure.target.kind === "none" ? "" : meetsTarget(figure) ? "met" : "MISSED",
    ];
  });
  const header = ["measurement", "tscni", "reference", "ratio", "target", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  return figures.every(meetsTarget);
}
