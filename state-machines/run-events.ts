/**
 * The run lifecycle events the state machine puts on EventBridge itself (optimized integration
 * `arn:aws:states:::events:putEvents`, no Lambda): their source, detail-types and detail, as JSON
 * Schema (draft 2020-12). Version 1. A change that removes or retypes a field raises
 * `schemaVersion`; adding an optional field does not. The definition tests validate every event the
 * real ASL emits against these schemas (test/state-machines/run-events.test.ts), so the file and
 * the definition cannot drift apart.
 *
 * Putting an event never fails a run: each Publish*Event state retries EventBridge's transient
 * errors twice and catches everything else (including `EventBridge.FailedEntry`: PutEvents answered
 * 200 with FailedEntryCount > 0) and goes on. Delivery is therefore at most once per state entered:
 * a lost event is not re-sent. Step Functions adds the execution ARN and the state machine ARN to
 * each entry's `Resources`.
 */

export const RUN_EVENT_SOURCE = 'batch-runner';
export const RUN_EVENT_SCHEMA_VERSION = '1';

/** Detail-type per event; `Batch Run Failed` covers every failure outcome (see `detail.outcome`). */
export const RUN_EVENT_DETAIL_TYPES = {
  started: 'Batch Run Started',
  succeeded: 'Batch Run Succeeded',
  skipped: 'Batch Run Skipped',
  failed: 'Batch Run Failed',
} as const;

export type RunEventDetailType = (typeof RUN_EVENT_DETAIL_TYPES)[keyof typeof RUN_EVENT_DETAIL_TYPES];

/** Outcomes a `Batch Run Failed` event carries in `detail.outcome`. */
export const FAILED_EVENT_OUTCOMES = ['failed', 'timed_out', 'could_not_start', 'invalid_input'] as const;

const run = {
  type: 'object',
  description:
    'The run as the state machine carries it: who started it and why; scheduledTime only when it stands for a scheduled slot (schedule, run --for, backfill, dependency).',
  required: ['trigger', 'reason', 'requestedBy'],
  properties: {
    trigger: {
      type: 'string',
      description:
        'schedule | dependency (an upstream batch succeeded; reason names it and its execution) | console | cli | manual | unknown (input validation could not run)',
    },
    reason: { type: 'string' },
    requestedBy: { type: 'string' },
    scheduledTime: {
      type: 'string',
      description:
        'The slot, in UTC; with milliseconds only for a dependency run whose upstream run had no slot (the upstream execution start time).',
      pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
    },
    overrides: { type: 'object', description: 'The ECS TaskOverride of a manual start (PascalCase); {} if none.' },
  },
} as const;

const common = {
  schemaVersion: { const: RUN_EVENT_SCHEMA_VERSION },
  batch: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,38}[a-z0-9]$' },
  executionArn: { type: 'string', pattern: '^arn:aws[a-z-]*:states:[^:]*:\\d{12}:execution:' },
  run,
} as const;
const commonRequired = ['schemaVersion', 'batch', 'executionArn', 'run', 'outcome'] as const;

const task = {
  type: 'object',
  required: ['taskArn'],
  properties: {
    taskArn: { type: 'string', pattern: '^arn:aws[a-z-]*:ecs:' },
    exitCode: { type: ['integer', 'null'] },
    stopCode: { type: ['string', 'null'] },
    stoppedReason: { type: ['string', 'null'] },
    logUrl: { type: ['string', 'null'] },
    durationSeconds: {
      type: ['integer', 'null'],
      description: 'Seconds from the task startedAt to stoppedAt (null when either is unknown).',
    },
    durationNotice: {
      type: 'object',
      description: 'Only on a success a durationGuards notice was sent for.',
      required: ['kind', 'message'],
      additionalProperties: false,
      properties: { kind: { type: 'string', enum: ['tooShort', 'nearHardTimeout'] }, message: { type: 'string' } },
    },
  },
} as const;

/** JSON Schema of `detail` per detail-type. */
export const RUN_EVENT_DETAIL_SCHEMAS: Readonly<Record<RunEventDetailType, Record<string, unknown>>> = {
  'Batch Run Started': {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Batch Run Started: the batch task was started (RunTask returned its ARN).',
    type: 'object',
    additionalProperties: false,
    required: [...commonRequired, 'task', 'startAttempt'],
    properties: {
      ...common,
      outcome: { const: 'started' },
      task: {
        type: 'object',
        additionalProperties: false,
        required: ['taskArn'],
        properties: { taskArn: task.properties.taskArn },
      },
      startAttempt: {
        type: 'integer',
        minimum: 0,
        description: 'Capacity retries before this start (0: the first RunTask).',
      },
    },
  },
  'Batch Run Succeeded': {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Batch Run Succeeded: the batch container exited 0; the task is STOPPED and the lock released.',
    type: 'object',
    additionalProperties: false,
    required: [...commonRequired, 'scheduledTime', 'reason', 'task'],
    properties: {
      ...common,
      outcome: { const: 'succeeded' },
      scheduledTime: {
        type: 'string',
        description:
          "The scheduled time the run's task was told (BATCH_RUNNER_SCHEDULED_TIME): the slot, or for a run without a slot its execution's start time. A dependent batch's run stands for this slot.",
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
      },
      reason: { type: 'string' },
      task: { ...task, properties: { ...task.properties, exitCode: { const: 0 } }, required: ['taskArn', 'exitCode'] },
    },
  },
  'Batch Run Skipped': {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Batch Run Skipped: nothing was started; reason says why, details who holds the lock or what runs.',
    type: 'object',
    additionalProperties: false,
    required: [...commonRequired, 'reason', 'details'],
    properties: {
      ...common,
      outcome: { const: 'skipped' },
      reason: { type: 'string' },
      details: {
        type: 'object',
        description: 'The skip record of the execution output.',
        required: ['outcome', 'reason'],
        properties: {
          outcome: { const: 'skipped' },
          reason: { type: 'string' },
          lockHolder: { type: 'string', description: 'Execution ARN holding the lock.' },
          lockHeldSince: { type: 'string' },
          runningTaskArns: { type: 'array', items: { type: 'string' } },
          duplicateSlot: { type: 'string', description: 'The slot that has run already.' },
        },
      },
    },
  },
  'Batch Run Failed': {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Batch Run Failed: a non-success end the state machine handled itself (its one alert was sent first).',
    type: 'object',
    additionalProperties: false,
    required: [...commonRequired, 'error', 'reason', 'taskMayStillRun', 'lockRelease', 'details'],
    properties: {
      ...common,
      outcome: { enum: [...FAILED_EVENT_OUTCOMES] },
      error: { type: 'string', pattern: '^BatchRunner\\.' },
      reason: { type: 'string' },
      taskMayStillRun: { type: 'boolean' },
      lockRelease: { type: 'string', description: 'released | not acquired | held: task may still run | ...' },
      details: { type: 'object', description: 'The failure record, as in the alert (task, stoppedTask, ...).' },
    },
  },
};

/**
 * What the EventBridge rule of a dependent batch (`after`) sends its state machine for an upstream
 * success: an input transformer over the `Batch Run Succeeded` event. Every path exists in every such
 * event (the schema requires them), so no value is ever missing. RouteInput lets exactly this shape
 * through without validation, like the Scheduler's.
 */
export const DEPENDENCY_INPUT_PATHS = {
  batch: '$.detail.batch',
  executionArn: '$.detail.executionArn',
  scheduledTime: '$.detail.scheduledTime',
} as const;

/** The input template of the dependency rule's target (see {@link DEPENDENCY_INPUT_PATHS}). */
export const DEPENDENCY_INPUT_TEMPLATE =
  '{"trigger":"dependency","scheduledTime":"<scheduledTime>","upstream":{"batch":"<batch>","executionArn":"<executionArn>"}}';

/** The state machine input of a dependency run. */
export interface DependencyInput {
  readonly trigger: 'dependency';
  readonly scheduledTime: string;
  readonly upstream: { readonly batch: string; readonly executionArn: string };
}

/**
 * The rule's input transformer applied to a `Batch Run Succeeded` detail, for the local mode and the
 * tests (the values have no characters that need escaping: batch names, ARNs and timestamps).
 */
export function dependencyInputFrom(detail: Record<string, any>): DependencyInput {
  const values: Record<string, string> = {};
  for (const [key, path] of Object.entries(DEPENDENCY_INPUT_PATHS))
    values[key] = String(
      path
        .split('.')
        .slice(2)
        .reduce((v: any, k) => v?.[k], detail),
    );
  return JSON.parse(DEPENDENCY_INPUT_TEMPLATE.replace(/<(\w+)>/g, (_, k: string) => values[k]));
}
