import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { BatchConfig } from '../config/batch-config';
import { findBatch } from '../config/batch-config';
import { DEFAULT_PREFIX } from '../config/naming';
import { LocalRuntime, type LocalRuntimeOptions } from '../local/local-runtime';
import { resolveStateDir } from '../local/state-dir';
import { type AwsClients, createAwsClients } from './aws-clients';
import { AwsBackend, type BatchBackend, LocalBackend } from './backend';
import { DeploymentResolver } from './deployment';
import type { Output } from './format';
import { NOT_A_TERMINAL, type Presentation, presentation, type TerminalInfo } from './terminal';

/** Everything the CLI touches in the outside world; tests replace any of it. */
export interface CliDeps {
  readonly output?: Output;
  /** Whether stdout and stderr are terminals, and stdout's width (colour, relative times, tables that fit). @default - not terminals */
  readonly terminal?: TerminalInfo;
  /** AWS clients (tests: clients mocked with aws-sdk-client-mock). @default - created from --region/--profile */
  readonly clients?: AwsClients;
  /** Deployed batches. @default - config/batches.ts */
  readonly batches?: readonly BatchConfig[];
  /** Batches `--local` and `demo` may run. @default - config/batches.ts plus examples/demo-batches.ts */
  readonly localBatches?: readonly BatchConfig[];
  readonly env?: NodeJS.ProcessEnv;
  /** Where the CLI looks for batch-runner.yaml / .yml / .json. @default process.cwd() */
  readonly cwd?: string;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Asks a yes/no question on the terminal. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Whether a person is at the terminal (stdin is a TTY). */
  readonly interactive?: boolean;
  /** Who starts runs (`requestedBy`). @default - `<os user>@<host>` */
  readonly user?: string;
  /** Random suffix of execution names. */
  readonly random?: () => string;
  /** `run --wait`/`logs --follow` poll interval. @default 2000 */
  readonly pollMs?: number;
  /** `run --wait`: how often to print task status while nothing else happens. @default 30000 */
  readonly progressEveryMs?: number;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
  readonly openLocal?: (options: LocalRuntimeOptions) => Promise<LocalRuntime>;
  /**
   * Wraps a run this process supervises (`run`), so that cli/main.ts keeps it going to its end when
   * stdout or stderr is closed (EPIPE) instead of ending the process. @default - runs it as is
   */
  readonly supervise?: (work: () => Promise<number>) => Promise<number>;
}

/** Global options (before or after the command name). */
export interface GlobalOptions {
  /** `--config <file>`: the JSON or YAML batch file. */
  readonly config?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly prefix?: string;
  readonly stateDir?: string;
  /** false with --no-color. */
  readonly color?: boolean;
  readonly absoluteTimes?: boolean;
}

export interface CliContext {
  readonly output: Output;
  /** Colour, times for people and the table width: text output only, never JSON. */
  readonly ui: Presentation;
  readonly batches: readonly BatchConfig[];
  readonly localBatches: readonly BatchConfig[];
  readonly prefix: string;
  readonly stateDir: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly interactive: boolean;
  readonly user: string;
  readonly random: () => string;
  readonly pollMs: number;
  readonly progressEveryMs: number;
  readonly signal?: AbortSignal;
  readonly supervise: (work: () => Promise<number>) => Promise<number>;
  aws(): AwsClients;
  resolver(): DeploymentResolver;
  /** Opens the local mode on the state directory (or `stateDir`), with the local batches (or `batches`). */
  openLocal(
    options: Omit<LocalRuntimeOptions, 'stateDir' | 'batches'> & {
      readonly batches?: readonly BatchConfig[];
      readonly stateDir?: string;
    },
  ): Promise<LocalRuntime>;
  /** The batch of a command, from the deployed list or (with --local) the local one. */
  batch(name: string, local: boolean): BatchConfig;
  /** The backend for read commands; close it when done. */
  backend(local: boolean): Promise<BatchBackend>;
}

const REQUESTED_BY_SAFE = /[^\p{L}\p{N} @._+:/()-]/gu;

/** `<os user>@<host>`, reduced to what the manual input contract accepts for requestedBy. */
export function defaultUser(env: NodeJS.ProcessEnv = process.env): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.USERNAME ?? 'unknown';
  }
  const text = `${name}@${hostname()}`.replace(REQUESTED_BY_SAFE, '-').slice(0, 128);
  return text || 'unknown';
}

export function createContext(
  deps: CliDeps,
  globals: GlobalOptions,
  defaults: {
    batches: readonly BatchConfig[];
    localBatches: readonly BatchConfig[];
    output: Output;
    /** Directory of the batch file in use: its `.batch-runner/` holds the local state, local commands run there. */
    projectDir?: string;
  },
  /** Configured batches that do not validate, with why: a command about one of them fails with that. */
  invalidBatches: ReadonlyMap<string, Error> = new Map(),
): CliContext {
  const env = deps.env ?? process.env;
  const prefix = globals.prefix ?? env.BATCH_RUNNER_PREFIX ?? DEFAULT_PREFIX;
  const stateDir = resolveStateDir(
    globals.stateDir,
    env,
    defaults.projectDir === undefined ? undefined : join(defaults.projectDir, '.batch-runner'),
  );
  const localBatches = deps.localBatches ?? defaults.localBatches;
  let clients = deps.clients;
  let resolver: DeploymentResolver | undefined;
  const now = deps.now ?? (() => new Date());
  const ctx: CliContext = {
    output: deps.output ?? defaults.output,
    ui: presentation(deps.terminal ?? NOT_A_TERMINAL, env, globals, now),
    batches: deps.batches ?? defaults.batches,
    localBatches,
    prefix,
    stateDir,
    now,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    confirm: deps.confirm ?? (async () => false),
    interactive: deps.interactive ?? false,
    user: deps.user ?? defaultUser(env),
    random: deps.random ?? (() => Math.random().toString(16).slice(2, 8).padEnd(6, '0')),
    pollMs: deps.pollMs ?? 2000,
    progressEveryMs: deps.progressEveryMs ?? 30000,
    signal: deps.signal,
    supervise: deps.supervise ?? ((work) => work()),
    aws() {
      clients ??= createAwsClients({ region: globals.region, profile: globals.profile });
      return clients;
    },
    resolver() {
      resolver ??= new DeploymentResolver(ctx.aws().sfn, prefix);
      return resolver;
    },
    openLocal(options) {
      const full: LocalRuntimeOptions = {
        ...options,
        stateDir: options.stateDir ?? stateDir,
        batches: options.batches ?? localBatches,
        taskCwd: options.taskCwd ?? defaults.projectDir,
      };
      return deps.openLocal ? deps.openLocal(full) : LocalRuntime.open(full);
    },
    batch(name, local) {
      const invalid = invalidBatches.get(name);
      if (invalid) throw invalid;
      return findBatch(local ? localBatches : ctx.batches, name);
    },
    async backend(local) {
      if (local) return new LocalBackend(await ctx.openLocal({}));
      return new AwsBackend(ctx.aws(), ctx.resolver(), ctx.now);
    },
  };
  return ctx;
}
