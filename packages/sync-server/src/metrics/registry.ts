// A minimal Prometheus text-format registry (exposition format 0.0.4). The server needs a dozen
// counters, a few gauges and one histogram; a client library would be a dependency for that.

type Labels = Readonly<Record<string, string>>

interface Metric {
  render(lines: string[]): void
}

/** A monotonically increasing counter, optionally split by label values. */
export class Counter implements Metric {
  readonly #name: string
  readonly #help: string
  readonly #values = new Map<string, number>()

  constructor(name: string, help: string) {
    this.#name = name
    this.#help = help
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = formatLabels(labels)
    this.#values.set(key, (this.#values.get(key) ?? 0) + by)
  }

  /** Current value for `labels` (for tests and `stats()`). */
  get(labels: Labels = {}): number {
    return this.#values.get(formatLabels(labels)) ?? 0
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} counter`)
    if (this.#values.size === 0) lines.push(`${this.#name} 0`)
    for (const [labels, value] of this.#values) lines.push(`${this.#name}${labels} ${value}`)
  }
}

/** A gauge read from a callback when scraped, so it can never drift from the truth. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => number,
  ) {}

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`)
  }
}

/** A cumulative histogram with fixed buckets (upper bounds, ascending). */
export class Histogram implements Metric {
  readonly #name: string
  readonly #help: string
  readonly #bounds: ReadonlyArray<number>
  readonly #counts: number[]
  #sum = 0
  #count = 0

  constructor(name: string, help: string, bounds: ReadonlyArray<number>) {
    this.#name = name
    this.#help = help
    this.#bounds = bounds
    this.#counts = bounds.map(() => 0)
  }

  observe(value: number): void {
    this.#sum += value
    this.#count++
    const index = this.#bounds.findIndex((bound) => value <= bound)
    if (index !== -1) this.#counts[index] = (this.#counts[index] ?? 0) + 1
  }

  get count(): number {
    return this.#count
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} histogram`)
    let cumulative = 0
    this.#bounds.forEach((bound, index) => {
      cumulative += this.#counts[index] ?? 0
      lines.push(`${this.#name}_bucket{le="${bound}"} ${cumulative}`)
    })
    lines.push(`${this.#name}_bucket{le="+Inf"} ${this.#count}`, `${this.#name}_sum ${this.#sum}`, `${this.#name}_count ${this.#count}`)
  }
}

/** Holds metrics in registration order and renders them for `GET /metrics`. */
export class MetricsRegistry {
  readonly #metrics: Metric[] = []

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help))
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    return this.#add(new Gauge(name, help, read))
  }

  histogram(name: string, help: string, bounds: ReadonlyArray<number>): Histogram {
    return this.#add(new Histogram(name, help, bounds))
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const lines: string[] = []
    for (const metric of this.#metrics) metric.render(lines)
    return `${lines.join('\n')}\n`
  }

  #add<T extends Metric>(metric: T): T {
    this.#metrics.push(metric)
    return metric
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([key, value]) => `${key}="${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}`
}
