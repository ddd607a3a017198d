// Path diagnosis: pure rules over a target's per-hop evidence, hysteresis across windows, and renderers.
export * from './types.js';
export { wilson, lossInterval, normalCdf, confidenceGreater, type Interval } from './interval.js';
export { diagnose, SEVERITY } from './rules.js';
export {
  DiagnosisTracker,
  trackStep,
  verdictKey,
  sortVerdicts,
  EMPTY_TRACKER,
  DEFAULT_TRACKER_OPTIONS,
  type TrackerOptions,
  type TrackerState,
  type TrackerStep,
} from './tracker.js';
export { renderDiagnosis, verdictHeadline, wrap, type DiagnosisContext, type EarlierVerdict } from './text.js';
export { renderHtml, latencyChart, escapeHtml, HTML_COLOURS, type HtmlReport, type HtmlHop } from './html.js';
export {
  windowEvidence,
  sampleView,
  ReplyTtlLog,
  changesAt,
  rttSummary,
  type SnapshotLike,
  type HopLike,
  type SampleLike,
  type SampleView,
  type ResponderLike,
  type WindowSpec,
} from './adapter.js';
export { ProbeLog } from './probe-log.js';
export { TargetDiagnosis, scheduleFor, LATE_AFTER_SECONDS, type DiagnosisSchedule } from './run.js';
export {
  diagnosisOutput,
  shownHops,
  type DiagnosisOutput,
  type DiagnosisOutputOptions,
  type ReportSnapshotLike,
  type ReportHopLike,
  type EventLike,
  type TargetLike,
} from './output.js';
export {
  confirmPlan,
  mtuPlan,
  hopPingPlans,
  HOP_PINGS,
  alternateOf,
  CONFIRM_BUDGET,
  CONFIRM_TOTAL_BUDGET,
  MTU_PROBES,
  MTU_PROBE_SIZE,
  type ConfirmPlan,
} from './confirm.js';
export { verdictJson, earlierJson } from './json.js';
