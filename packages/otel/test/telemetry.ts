// In-memory OpenTelemetry SDK pipelines for the tests: metrics collected on demand, spans kept.
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Instrumentation, instrument } from '../src/index.js';

export interface Telemetry {
  readonly otel: Instrumentation;
  /** Every metric as of now, by name. */
  collect(): Promise<Map<string, MetricData>>;
  /** Sum of a counter's (or up-down counter's, or gauge's) points whose attributes include `match`. */
  value(metrics: Map<string, MetricData>, name: string, match?: Attributes): number;
  /** How many values a histogram recorded, over the points whose attributes include `match`. */
  count(metrics: Map<string, MetricData>, name: string, match?: Attributes): number;
  spans(name?: string): ReadableSpan[];
  shutdown(): Promise<void>;
}

function matches(attributes: Attributes, match: Attributes | undefined): boolean {
  return Object.entries(match ?? {}).every(([k, v]) => attributes[k] === v);
}

export function telemetry(): Telemetry {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Collected by forceFlush() only: the interval never comes.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const otel = instrument({ meterProvider, tracerProvider });
  return {
    otel,
    async collect() {
      metricExporter.reset();
      await reader.forceFlush();
      const out = new Map<string, MetricData>();
      for (const rm of metricExporter.getMetrics())
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
      return out;
    },
    value(metrics, name, match) {
      const m = metrics.get(name);
      if (!m || m.dataPointType === DataPointType.HISTOGRAM) return 0;
      return m.dataPoints
        .filter((p) => matches(p.attributes, match))
        .reduce((a, p) => a + (p.value as number), 0);
    },
    count(metrics, name, match) {
      const m = metrics.get(name);
      if (!m || m.dataPointType !== DataPointType.HISTOGRAM) return 0;
      return (m as HistogramMetricData).dataPoints
        .filter((p) => matches(p.attributes, match))
        .reduce((a, p) => a + p.value.count, 0);
    },
    spans(name) {
      const all = spanExporter.getFinishedSpans();
      return name === undefined ? all : all.filter((s) => s.name === name);
    },
    async shutdown() {
      otel.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
