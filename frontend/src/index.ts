// mtr-ts as a library: the engine (many targets, events, statistics), the pure pieces (statistics,
// scheduler, renderers, options), the outputs and the packet client, for embedding or testing.
export { FIELDS, FIELD_BY_KEY, DEFAULT_ORDER, checkOrder, fieldsOf, type FieldDef, type FieldKey } from './fields.js';
export { EMPTY_HOP, reduceHop, viewHop, fieldValue, type HopState, type HopEvent, type HopView, type Responder, type HopError } from './stats.js';
export { initialScheduler, step, tickDelay, type SchedulerState, type PathLimits, type Step } from './scheduler.js';
export { parseOptions, helpText, versionText, OPTIONS, UsageError, type Config, type OutputMode, type Protocol } from './options.js';
export { MtrPacket, PacketProcessError, PacketProcessExited, outcomeOfLine, probeFields, type ProbeOutcome, type ProbeFields, type OpenOptions } from '@mtr-ts/client';
export { createEngine, systemClock, DEFAULT_TARGET_OPTIONS, ENGINE_EVENT_TYPES } from './engine/index.js';
export type * from './engine/index.js';
export { OUTPUTS, mtrSnapshot, type Output, type OutputContext, type RunEnd } from './outputs/index.js';
export { SCHEMA_VERSION, eventJson, hopJson, optionsJson, pathJson, rfc3339, rttJson, targetJson, targetReportJson } from './outputs/json-shapes.js';
export { lookupTarget, localAddressFor, resolveErrorText } from './targets.js';
export { NameResolver, asnQueryName, ipinfoItem, type ResolverOptions } from './resolver.js';
export type { Snapshot, RunInfo, Names, RenderOptions } from './render/model.js';
export { renderReport, renderReportHeader } from './render/report.js';
export { renderJson } from './render/json.js';
export { renderCsv } from './render/csv.js';
export { renderXml } from './render/xml.js';
export { renderSplit, newSplitState } from './render/split.js';
export { main, DEFAULT_PACKET_PATH } from './cli.js';
