/**
 * OpenTelemetry metrics and spans from etcdkit's diagnostics channels:
 * `const otel = instrument({ meterProvider, tracerProvider })`, later `otel.close()`. The
 * metric names are in {@link METRICS}.
 *
 * @module @etcdkit/otel
 */
export type { Instrumentation, InstrumentOptions } from './instrument.js';
export { instrument } from './instrument.js';
export { METRICS } from './names.js';
