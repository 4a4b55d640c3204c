import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { currentProcessRef, isAlive, type ProcessRef, readJson, writeJsonAtomic } from './state-dir';
import type { SfnService } from './task-resources';
import { ServiceError } from './task-resources';

export type LocalExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One local execution (`<state-dir>/executions/<name>.json`), shaped after DescribeExecution. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly batch: string;
  readonly input: unknown;
  readonly status: LocalExecutionStatus;
  readonly startDate: string;
  readonly stopDate?: string;
  /** The process running the execution: while it lives, a RUNNING record is really running. */
  readonly runner: ProcessRef;
  readonly currentState?: string;
  readonly taskArn?: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly statesEntered?: readonly string[];
  /** Every state entered so far, with when (epoch ms), in order: `show` and `watch` read it while it runs. */
  readonly states?: ReadonlyArray<{ readonly name: string; readonly at: number }>;
}

/**
 * The local Step Functions execution registry, shared by every CLI process of a state directory.
 * Liveness is exact, as DescribeExecution is on AWS: a record that says RUNNING but whose runner
 * process is gone (killed, crashed, machine rebooted) is reported ABORTED - its lock is stale and the
 * next start reclaims it.
 */
export class ExecutionRegistry {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'executions');
    mkdirSync(this.dir, { recursive: true });
  }

  create(record: Omit<ExecutionRecord, 'status' | 'runner'>): ExecutionRecord {
    const full: ExecutionRecord = { ...record, status: 'RUNNING', runner: currentProcessRef() };
    writeJsonAtomic(this.pathOf(record.name), full);
    return full;
  }

  update(name: string, patch: Partial<ExecutionRecord>): ExecutionRecord | undefined {
    const current = readJson<ExecutionRecord>(this.pathOf(name));
    if (!current) return undefined;
    const next = { ...current, ...patch };
    writeJsonAtomic(this.pathOf(name), next);
    return next;
  }

  /** By execution ARN or name; the status is the effective one (see class doc). */
  get(arnOrName: string): ExecutionRecord | undefined {
    const name = nameOf(arnOrName);
    if (!/^[A-Za-z0-9_.:-]{1,80}$/.test(name)) return undefined;
    const record = readJson<ExecutionRecord>(this.pathOf(name));
    if (!record || (arnOrName.startsWith('arn:') && record.executionArn !== arnOrName)) return undefined;
    return effective(record);
  }

  /** Newest first, optionally of one batch. */
  list(batch?: string): ExecutionRecord[] {
    const records: ExecutionRecord[] = [];
    for (const file of existsSync(this.dir) ? readdirSync(this.dir) : []) {
      if (!file.endsWith('.json')) continue;
      const record = readJson<ExecutionRecord>(join(this.dir, file));
      if (record && (batch === undefined || record.batch === batch)) records.push(effective(record));
    }
    return records.sort((a, b) => b.startDate.localeCompare(a.startDate) || b.name.localeCompare(a.name));
  }

  /** Asks the runner of an execution (in whatever process) to stop it; it polls for this file. */
  requestStop(name: string, error: string, cause: string): void {
    writeJsonAtomic(join(this.dir, `${name}.stop`), { error, cause, requestedAt: new Date().toISOString() });
  }

  stopRequest(name: string): { error: string; cause: string } | undefined {
    return readJson(join(this.dir, `${name}.stop`));
  }

  clearStopRequest(name: string): void {
    try {
      unlinkSync(join(this.dir, `${name}.stop`));
    } catch {}
  }

  /** Deletes records of executions that ended more than `maxAgeMs` ago; returns how many. */
  prune(maxAgeMs: number, now = Date.now()): number {
    let removed = 0;
    for (const record of this.list()) {
      if (record.status !== 'RUNNING' && record.stopDate && now - Date.parse(record.stopDate) > maxAgeMs) {
        try {
          unlinkSync(this.pathOf(record.name));
          removed += 1;
        } catch {}
      }
    }
    return removed;
  }

  private pathOf(name: string): string {
    return join(this.dir, `${name}.json`);
  }
}

const nameOf = (arnOrName: string): string =>
  arnOrName.startsWith('arn:') ? (arnOrName.split(':').pop() ?? '') : arnOrName;

function effective(record: ExecutionRecord): ExecutionRecord {
  if (record.status !== 'RUNNING' || isAlive(record.runner)) return record;
  return {
    ...record,
    status: 'ABORTED',
    error: record.error ?? 'BatchRunner.RunnerGone',
    cause:
      record.cause ??
      `The local runner process (pid ${record.runner.pid}) ended without finishing this execution (killed or crashed).`,
  };
}

/**
 * Step Functions (`sfn:describeExecution`, `sfn:stopExecution`) for the state machine's Task states,
 * answered from the registry. Executions run by this process are stopped in-process through
 * `stopLocal`; others through a stop request their runner picks up.
 */
export class LocalSfn implements SfnService {
  constructor(
    private readonly registry: ExecutionRegistry,
    private readonly stopLocal: (executionArn: string, error: string, cause: string) => boolean,
  ) {}

  async describeExecution(params: Record<string, any>): Promise<Record<string, any>> {
    const arn = String(params.ExecutionArn ?? '');
    if (!arn.startsWith('arn:')) throw new ServiceError('Sfn.InvalidArnException', `Invalid Arn: '${arn}'`);
    const record = this.registry.get(arn);
    if (!record) throw new ServiceError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${arn}'`);
    return {
      ExecutionArn: record.executionArn,
      StateMachineArn: record.stateMachineArn,
      Name: record.name,
      Status: record.status,
      StartDate: record.startDate,
      ...(record.stopDate ? { StopDate: record.stopDate } : {}),
      Input: JSON.stringify(record.input),
      ...(record.output !== undefined ? { Output: JSON.stringify(record.output) } : {}),
      ...(record.error ? { Error: record.error } : {}),
      ...(record.cause ? { Cause: record.cause } : {}),
    };
  }

  async stopExecution(params: Record<string, any>): Promise<Record<string, any>> {
    const arn = String(params.ExecutionArn ?? '');
    const record = this.registry.get(arn);
    if (!record) throw new ServiceError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${arn}'`);
    const error = String(params.Error ?? 'States.Aborted');
    const cause = String(params.Cause ?? 'Stopped by StopExecution');
    if (record.status === 'RUNNING' && !this.stopLocal(arn, error, cause)) {
      this.registry.requestStop(record.name, error, cause);
    }
    return { StopDate: new Date().toISOString() };
  }
}
