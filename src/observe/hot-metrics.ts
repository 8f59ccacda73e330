// Counters and histograms updated on every request, kept as plain numbers per label set and
// written in Prometheus's text format when scraped. prom-client hashes the labels object on
// every inc() and observe(), even through a labelled child; at tens of thousands of requests a
// second that hashing measured at a tenth of the serving thread.

export interface HotSeries {
  /** Counters: the count; histograms: observations. */
  value: number;
  sum: number;
  /** Histograms: observations per bucket (not cumulative), the last one +Inf. */
  counts: Float64Array | undefined;
  readonly labels: string;
}

const escape = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export class HotFamily {
  private readonly all = new Map<string, HotSeries>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets?: readonly number[],
  ) {}

  /** The series for `key`; `labels` gives its labels the first time. */
  series(key: string, labels: () => Record<string, string>): HotSeries {
    let series = this.all.get(key);
    if (series === undefined) {
      series = {
        value: 0,
        sum: 0,
        counts: this.buckets === undefined ? undefined : new Float64Array(this.buckets.length + 1),
        labels: Object.entries(labels())
          .map(([k, v]) => `${k}="${escape(v)}"`)
          .join(","),
      };
      this.all.set(key, series);
    }
    return series;
  }

  observe(series: HotSeries, value: number): void {
    const buckets = this.buckets ?? [];
    let i = 0;
    while (i < buckets.length && value > (buckets[i] ?? Infinity)) i++;
    if (series.counts !== undefined) series.counts[i] = (series.counts[i] ?? 0) + 1;
    series.value++;
    series.sum += value;
  }

  render(): string {
    const type = this.buckets === undefined ? "counter" : "histogram";
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${type}\n`;
    for (const s of this.all.values()) {
      if (s.counts === undefined) {
        out += `${this.name}{${s.labels}} ${s.value}\n`;
        continue;
      }
      const sep = s.labels === "" ? "" : ",";
      let cumulative = 0;
      for (const [i, le] of [...(this.buckets ?? []), Infinity].entries()) {
        cumulative += s.counts[i] ?? 0;
        out += `${this.name}_bucket{${s.labels}${sep}le="${le === Infinity ? "+Inf" : le}"} ${cumulative}\n`;
      }
      out += `${this.name}_sum{${s.labels}} ${s.sum}\n${this.name}_count{${s.labels}} ${s.value}\n`;
    }
    return out;
  }
}
