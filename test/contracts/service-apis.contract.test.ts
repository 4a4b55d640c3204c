/**
 * AWS contract: every Task state against the service API it calls, using AWS's own models (npm
 * `aws-sdk` v2 `apis/*.min.json` and the v3 clients' modeled exceptions and enums):
 * - Parameters: PascalCase member names, required members, types and enum values;
 * - results: every path read from a Task's result exists in the API's output shape, and a member the
 *   model does not require (or a list element) is read only behind an IsPresent guard, because a
 *   missing key raises States.Runtime, which no Catch handles (States Language spec; developer guide);
 * - error names: every ErrorEquals is one Step Functions can report for that state.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConditionalCheckFailedException, InternalServerError, RequestLimitExceeded } from '@aws-sdk/client-dynamodb';
import { optimizedDynamoDbErrorName, parseResource, taskStatesOf } from '../../local/task-resources';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';
import { TEST_BATCH, TEST_BINDINGS } from '../support/asl-harness';
import { isCovered, presentOnEntry, readsOf, segmentsOf } from './support/definition-reads';
import { enumValues, membersOf, modeledErrorNames, type Shape, ServiceModel } from './support/service-models';

const definition = JSON.parse(renderDefinition(substitutionsFor(TEST_BATCH, TEST_BINDINGS)));
const tasks = taskStatesOf(definition);
const models = new Map<string, ServiceModel>();
const modelOf = (service: string) => {
  if (!models.has(service)) models.set(service, new ServiceModel(service));
  return models.get(service) as ServiceModel;
};

/** Problems of a Parameters template against an input shape (dynamic `.$` values: names only). */
function parameterProblems(service: string, model: ServiceModel, shape: Shape, value: unknown, at: string): string[] {
  const problems: string[] = [];
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
      const members = membersOf(model, shape);
      for (const [key, v] of Object.entries(value)) {
        const name = key.endsWith('.$') ? key.slice(0, -2) : key;
        const member = members.get(name);
        if (!member) problems.push(`${at}.${name}: not a member (members: ${[...members.keys()].join(', ')})`);
        else if (!key.endsWith('.$')) {
          problems.push(...parameterProblems(service, model, member.shape, v, `${at}.${name}`));
          const allowed = typeof v === 'string' ? enumValues(service, name) : undefined;
          if (allowed && !allowed.includes(v as string))
            problems.push(`${at}.${name}: "${v}" is not one of ${allowed.join(', ')}`);
        }
      }
      for (const [name, m] of members)
        if (m.required && !(name in value) && !(`${name}.$` in value))
          problems.push(`${at}.${name}: required by the model`);
      return problems;
    }
    case 'list':
      if (!Array.isArray(value)) return [`${at}: expected a list`];
      return value.flatMap((v, i) =>
        parameterProblems(service, model, model.resolve(shape.member as Shape), v, `${at}[${i}]`),
      );
    case 'map':
      if (typeof value !== 'object' || value === null) return [`${at}: expected a map`];
      return Object.entries(value).flatMap(([k, v]) =>
        k.endsWith('.$') ? [] : parameterProblems(service, model, model.resolve(shape.value as Shape), v, `${at}.${k}`),
      );
    case 'integer':
    case 'long':
      return Number.isInteger(value) ? [] : [`${at}: expected an integer, got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: expected a boolean`];
    case 'blob':
      // Lambda Invoke's Payload: Step Functions serializes the JSON it is given (Lambda integration page).
      return [];
    default:
      // The optimized events:putEvents integration takes Detail as a JSON object and serializes it
      // (developer guide, "Add EventBridge events with Step Functions").
      if (service === 'events' && /\.Detail$/.test(at) && typeof value === 'object' && value !== null) return [];
      return typeof value === 'string' ? [] : [`${at}: expected a string, got ${JSON.stringify(value)}`];
  }
}

describe('Task Parameters match the API models', () => {
  test.each(tasks.map((t) => [t.name, t.resource, t.state] as const))('%s (%s)', (name, resource, state) => {
    const { service, action } = parseResource(resource);
    const model = modelOf(service);
    const { input } = model.operation(action);
    expect(parameterProblems(service, model, input, state.Parameters, name)).toEqual([]);
  });

  test('the check refuses what AWS would refuse (a camelCase member, a missing required member, a bad enum)', () => {
    const model = modelOf('ecs');
    const { input } = model.operation('runTask');
    expect(parameterProblems('ecs', model, input, { taskDefinition: 'x' }, 'T')).toEqual([
      expect.stringMatching(/^T\.taskDefinition: not a member/),
      'T.TaskDefinition: required by the model',
    ]);
    expect(
      parameterProblems('ecs', model, input, { TaskDefinition: 'x', LaunchType: 'LAMBDA', Count: '1' }, 'T'),
    ).toEqual([
      'T.LaunchType: "LAMBDA" is not one of EC2, EXTERNAL, FARGATE, MANAGED_INSTANCES',
      'T.Count: expected an integer, got "1"',
    ]);
  });
});

/**
 * Task results the definition reads, with the reviewed reason where the model cannot say: the
 * Lambda functions are this project's own, and their Payload is their handler's return value.
 */
const OWN_CONTRACTS: Record<string, string> = {
  ValidateManualInput:
    "Payload is handlers/validate-manual-input's return value (always { run, validation }; test/handlers/validate-manual-input.test.ts).",
  SettleStaleLock:
    "Payload is handlers/cleanup's SettleAnswer for a settle request (always { lock, status, taskMayStillRun, mayStillRun, tasks }; test/handlers/reconciler.test.ts).",
  ReleaseLockAfterFailure:
    "Payload is handlers/cleanup's SettleAnswer for a finish request (always { lock, status, taskMayStillRun, mayStillRun, tasks }; test/handlers/reconciler.test.ts).",
};

interface ResultLocation {
  readonly state: string;
  readonly path: string;
  /** The raw API result's shape; undefined where the stored value is the project's own (ResultSelector, task token). */
  readonly output?: Shape;
  readonly model: ServiceModel;
}

/** Where each Task state's result lands in the state data; the longest matching path is the writer. */
function resultLocations(): ResultLocation[] {
  return Object.entries<any>(definition.States)
    .filter(([, s]) => s.Type === 'Task' && typeof s.ResultPath === 'string')
    .map(([state, s]) => {
      const { service, action } = parseResource(s.Resource);
      const model = modelOf(service);
      const raw = !s.ResultSelector && !s.Resource.includes('.waitForTaskToken');
      return { state, path: s.ResultPath, output: raw ? model.operation(action).output : undefined, model };
    })
    .sort((a, b) => b.path.length - a.path.length);
}

/** Walks `segments` through an output shape: the first problem, and the deepest optional prefix. */
function walkOutput(
  model: ServiceModel,
  shape: Shape,
  segments: Array<string | number>,
): { problem?: string; optionalUpTo: number } {
  let current = shape;
  let optionalUpTo = -1;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (current.type === 'list' && typeof seg === 'number') {
      optionalUpTo = i;
      current = model.resolve(current.member as Shape);
    } else if (current.type === 'map' && typeof seg === 'string') {
      optionalUpTo = i;
      current = model.resolve(current.value as Shape);
    } else if (current.type === 'structure' && typeof seg === 'string') {
      const member = membersOf(model, current).get(seg);
      if (!member) return { problem: `"${seg}" is not in the output shape`, optionalUpTo };
      if (!member.required) optionalUpTo = i;
      current = member.shape;
    } else return { problem: `cannot read ${JSON.stringify(seg)} of a ${current.type}`, optionalUpTo };
  }
  return { optionalUpTo };
}

describe('Task results: nothing read that the API may omit, unless guarded by IsPresent', () => {
  const locations = resultLocations();
  const entry = presentOnEntry(definition);
  const reads = readsOf(definition);

  test('the definition keeps raw results of DynamoDB, ECS and Step Functions calls (and reads them)', () => {
    expect(locations.filter((l) => l.output).map((l) => l.state)).toEqual(
      expect.arrayContaining(['ReadLockHolder', 'CheckRunningTasks', 'StartBatchTask', 'ConfirmTaskStopped']),
    );
    expect(reads.filter((r) => r.path.startsWith('$.runningTasks.')).length).toBeGreaterThan(0);
  });

  test('every read of a stored result exists in the output shape and is guarded where optional', () => {
    const problems: string[] = [];
    for (const read of reads.filter((r) => r.against === 'input')) {
      const loc = locations.find(
        (l) => read.path === l.path || read.path.startsWith(`${l.path}.`) || read.path.startsWith(`${l.path}[`),
      );
      if (!loc?.output) continue;
      const below = segmentsOf(read.path).slice(segmentsOf(loc.path).length);
      const { problem, optionalUpTo } = walkOutput(loc.model, loc.output, below);
      if (problem) problems.push(`${read.state} reads ${read.path}: ${problem} of ${loc.state}`);
      else if (optionalUpTo >= 0 && !isCovered([...(entry.get(read.state) ?? []), ...read.guardedBy], read.path))
        problems.push(
          `${read.state} reads ${read.path} (optional in ${loc.state}'s output) without an IsPresent guard`,
        );
    }
    expect(problems).toEqual([]);
  });

  test('no blind spot: Map iterations read only their item (checked against its shape), no Task result replaces the state untracked, no filter paths', () => {
    // The dataflow covers top-level states and reads of `$.a.b[0]` paths; make anything it would not
    // see fail here instead of passing unnoticed.
    const problems: string[] = [];
    for (const [name, s] of Object.entries<any>(definition.States)) {
      if (s.Type === 'Map')
        for (const [inner, st] of Object.entries<any>((s.ItemProcessor ?? s.Iterator).States)) {
          // A read of the item is a read of `<ItemsPath>[i]...` in the state data: it must exist in the
          // output shape of the result the items come from, and be guarded (inside the iteration) where
          // that shape makes it optional. Items of anything but a stored API result cannot be checked.
          for (const read of readsOf({ States: { [inner]: st } }).filter((r) => r.against === 'input')) {
            const asItem = (p: string) => `${s.ItemsPath}[0]${p.slice(1)}`;
            const loc = locations.find((l) => String(s.ItemsPath).startsWith(`${l.path}.`) && l.output);
            if (!loc?.output) {
              problems.push(`${name}/${inner} reads ${read.path} of items the analysis cannot see`);
              continue;
            }
            const below = segmentsOf(asItem(read.path)).slice(segmentsOf(loc.path).length);
            const { problem } = walkOutput(loc.model, loc.output, below);
            const itemMember = segmentsOf(read.path).length > 0;
            if (problem) problems.push(`${name}/${inner} reads ${read.path}: ${problem}`);
            else if (itemMember && !isCovered(read.guardedBy.map(asItem), asItem(read.path)))
              problems.push(`${name}/${inner} reads ${read.path} of an item without an IsPresent guard`);
          }
        }
      // A raw result replacing the whole state (no ResultPath, no ResultSelector) would not be tracked.
      if (s.Type === 'Task' && s.ResultPath === undefined && !s.ResultSelector)
        problems.push(`${name}: its raw result replaces the state (no ResultPath or ResultSelector)`);
      // A wildcard or deep scan is allowed only below data a Pass state builds (no API answer can be
      // below it): ComposeOverrides lists the runner's and the operator's environment in one path.
      for (const path of wildcardPathsOf(s)) {
        const root = /^\$\.[A-Za-z]+/.exec(path)?.[0];
        const states = Object.values<any>(definition.States);
        const builtByPass = states.some((o) => o.Type === 'Pass' && o.ResultPath === root);
        const writtenByTask = states.some(
          (o) => o.Type !== 'Pass' && String(o.ResultPath ?? '$').startsWith(root ?? '$'),
        );
        if (!builtByPass || writtenByTask) problems.push(`${name}: a wildcard or filter path (${path})`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('ResultSelectors of AWS calls read only members the model requires', () => {
    const problems: string[] = [];
    for (const { name, resource, state } of tasks) {
      if (!state.ResultSelector || resource.includes('.waitForTaskToken') || OWN_CONTRACTS[name]) continue;
      const { service, action } = parseResource(resource);
      const model = modelOf(service);
      for (const read of readsOf({ States: { [name]: state } }).filter((r) => r.against === 'result')) {
        const { problem, optionalUpTo } = walkOutput(model, model.operation(action).output, segmentsOf(read.path));
        if (problem || optionalUpTo >= 0)
          problems.push(`${name} selects ${read.path}: ${problem ?? 'optional in the model'}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the analysis catches the reads the first cut had (ResultSelector on $.TaskArns, $.Tasks, $.Failures)', () => {
    const model = modelOf('ecs');
    expect(walkOutput(model, model.operation('listTasks').output, ['TaskArns']).optionalUpTo).toBe(0);
    expect(walkOutput(model, model.operation('runTask').output, ['Failures']).optionalUpTo).toBe(0);
    expect(walkOutput(model, model.operation('describeTasks').output, ['Tasks', 0, 'StoppedReason']).optionalUpTo).toBe(
      2,
    );
    expect(
      walkOutput(modelOf('sfn'), modelOf('sfn').operation('describeExecution').output, ['Status']).optionalUpTo,
    ).toBe(-1);
    // An unguarded read of an optional member is reported.
    const unguarded = {
      StartAt: 'List',
      States: {
        List: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ecs:listTasks', ResultPath: '$.r', Next: 'Use' },
        Use: { Type: 'Pass', Parameters: { 'first.$': '$.r.TaskArns[0]' }, End: true },
      },
    };
    expect(isCovered(presentOnEntry(unguarded).get('Use') ?? [], '$.r.TaskArns[0]')).toBe(false);
  });
});

/** States.* names a Retry/Catch may name (States Language spec, "Errors"); States.Runtime and
 * States.DataLimitExceeded are not among them: they cannot be caught. */
const STATES_ERRORS = new Set([
  'States.ALL',
  'States.Timeout',
  'States.TaskFailed',
  'States.Permissions',
  'States.HeartbeatTimeout',
  'States.ResultPathMatchFailure',
  'States.ParameterPathFailure',
  'States.BranchFailed',
  'States.NoChoiceMatched',
  'States.IntrinsicFailure',
]);
/** Generic and Lambda names documented by Step Functions: the unmodeled error of each integration,
 * the Lambda service errors its Lambda page tells to retry, Lambda.Unknown for a runtime failure,
 * and Sandbox.Timedout, the errorType Lambda reports for a function timeout. */
const DOCUMENTED = new Set([
  'DynamoDB.AmazonDynamoDBException',
  'SNS.AmazonSNSException',
  'Ecs.EcsException',
  'Sfn.SfnException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
  // The optimized EventBridge integration: PutEvents answered 200 with FailedEntryCount > 0
  // (developer guide, "Add EventBridge events with Step Functions").
  'EventBridge.FailedEntry',
]);
const ERROR_PREFIX: Record<string, string> = {
  dynamodb: 'DynamoDB',
  sns: 'SNS',
  ecs: 'Ecs',
  sfn: 'Sfn',
  lambda: 'Lambda',
  events: 'EventBridge',
};

/** Error names this project's handlers raise (they run behind the Lambda Task states). */
function handlerErrorNames(): Set<string> {
  const dir = join(__dirname, '../../handlers');
  const files = [
    ...readdirSync(dir).map((f) => join(dir, f)),
    ...readdirSync(join(dir, 'lib')).map((f) => join(dir, 'lib', f)),
  ];
  const text = files
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return new Set([...text.matchAll(/'(BatchRunner\.[A-Za-z]+)'/g)].map((m) => m[1]));
}

describe('error names in Retry and Catch are ones Step Functions can report', () => {
  const ownErrors = handlerErrorNames();

  test.each(tasks.map((t) => [t.name, t.resource, t.state] as const))('%s', (_name, resource, state) => {
    const { service } = parseResource(resource);
    const prefix = ERROR_PREFIX[service];
    const modeled = prefix === 'Lambda' ? new Set<string>() : modeledErrorNames(prefix);
    const names = [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((r: any) => r.ErrorEquals as string[]);
    const unknown = names.filter((e) => {
      if (STATES_ERRORS.has(e)) return false;
      if (e.startsWith('BatchRunner.')) return !(service === 'lambda' && ownErrors.has(e));
      if (e === 'Sandbox.Timedout') return service !== 'lambda';
      return !(e.startsWith(`${prefix}.`) && (modeled.has(e) || DOCUMENTED.has(e)));
    });
    expect(unknown).toEqual([]);
  });

  test('the local mode names DynamoDB errors by the same rule, from the real SDK exception classes', () => {
    const meta = { $metadata: {}, message: 'x' };
    expect(optimizedDynamoDbErrorName(new RequestLimitExceeded(meta))).toBe('DynamoDB.RequestLimitExceededException');
    expect(optimizedDynamoDbErrorName(new InternalServerError(meta))).toBe('DynamoDB.InternalServerErrorException');
    expect(optimizedDynamoDbErrorName(new ConditionalCheckFailedException(meta))).toBe(
      'DynamoDB.ConditionalCheckFailedException',
    );
    expect(optimizedDynamoDbErrorName(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))).toBe(
      'DynamoDB.AmazonDynamoDBException',
    );
    for (const e of [new RequestLimitExceeded(meta), new InternalServerError(meta)])
      expect(modeledErrorNames('DynamoDB').has(optimizedDynamoDbErrorName(e))).toBe(true);
  });

  test('the rule refuses the names the first cut used and accepts their real names', () => {
    expect(modeledErrorNames('DynamoDB').has('DynamoDB.RequestLimitExceeded')).toBe(false);
    expect(modeledErrorNames('DynamoDB').has('DynamoDB.RequestLimitExceededException')).toBe(true);
    expect(modeledErrorNames('Ecs').has('Ecs.ThrottlingException')).toBe(false);
    expect(modeledErrorNames('Sfn').has('Sfn.ThrottlingException')).toBe(false);
    expect(modeledErrorNames('Sfn').has('Sfn.ExecutionDoesNotExistException')).toBe(true);
    expect(modeledErrorNames('DynamoDB').has('DynamoDB.ConditionalCheckFailedException')).toBe(true);
  });
});

/** Paths (`.$` values and intrinsic arguments) with a wildcard, a filter or a deep scan. */
function wildcardPathsOf(state: unknown): string[] {
  const found: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\$[^\s,)'"]*/g)) if (/\[\*\]|\[\?\(|\.\./.test(m[0])) found.push(m[0]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(state);
  return found;
}
