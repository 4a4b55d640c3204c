import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeJustifiedWildcards, type JustifiedWildcard } from './iam-wildcards';

/** Repository root: handlers and the lock file are found from here, whatever the working directory. */
export const PROJECT_ROOT = join(__dirname, '..');

/**
 * Where an installed package keeps a handler prebuilt by `npm run build:package`
 * (scripts/build-package.js: `dist/lambda/<handler>/index.js`, next to the compiled `dist/infra/`).
 * In a clone, running the TypeScript sources, there is none and CDK bundles the handler at synth.
 */
export function prebuiltHandlerDir(entry: string): string | undefined {
  const dir = join(__dirname, '..', 'lambda', basename(entry, '.ts'));
  return existsSync(join(dir, 'index.js')) ? dir : undefined;
}

/** Properties of {@link RunnerFunction}. */
export interface RunnerFunctionProps {
  /** Lambda function name (also names the log group, `/aws/lambda/<name>`). */
  readonly functionName: string;
  /** Handler file, relative to the repository root, e.g. `handlers/cleanup.ts` (export `handler`). */
  readonly entry: string;
  /** Lambda function description (also the role's). */
  readonly description: string;
  /** Everything the function may do besides writing its own logs. */
  readonly statements: readonly iam.PolicyStatement[];
  /**
   * Environment variables of the function, besides `NODE_OPTIONS=--enable-source-maps`.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Lambda timeout.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Lambda memory, in MiB.
   * @default 256
   */
  readonly memorySizeMiB?: number;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /** The log group has a fixed name (`/aws/lambda/<name>`). @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Wildcards in `statements` that cannot be narrower, with the reason (cdk-nag acknowledgements). @default - none */
  readonly justifiedWildcards?: readonly JustifiedWildcard[];
  /** Where failed asynchronous invocations go (after Lambda's own retries). @default - nowhere */
  readonly onFailure?: lambda.IDestination;
}

/**
 * The runner's Lambda defaults in one place: TypeScript bundled by the local esbuild (never Docker),
 * Node.js 24 (the latest Lambda runtime; cdk-nag AwsSolutions-L1) on ARM64, source maps, a log group with retention, and a role whose only permissions are
 * the statements given here plus writing to its own log group (no managed policies, nothing added
 * behind the caller's back: the role handed to the function is immutable).
 */
export class RunnerFunction extends Construct {
  /** A `NodejsFunction` in a clone; a `lambda.Function` on the prebuilt bundle when installed. */
  public readonly function: lambda.Function;
  /** The function's role: its own log group plus `statements`, nothing else. */
  public readonly role: iam.Role;
  /**
   * The role's one inline policy (rendered at synth): its owner may add statements that depend on
   * what is declared later (BatchRunner: Scheduler access once a batch sets pauseAfterConsecutiveFailures).
   */
  public readonly policy: iam.PolicyDocument;
  /** The function's log group, `/aws/lambda/<functionName>`. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RunnerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'OwnLogGroup',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${this.logGroup.logGroupArn}`],
        }),
        ...props.statements,
      ],
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName}: ${props.description}`.slice(0, 1000),
      inlinePolicies: { Function: this.policy },
    });
    acknowledgeJustifiedWildcards(this.role, props.justifiedWildcards ?? []);
    const common = {
      functionName: props.functionName,
      description: props.description,
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySizeMiB ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role.withoutPolicyUpdates(),
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      onFailure: props.onFailure,
    };
    const prebuilt = prebuiltHandlerDir(props.entry);
    // Installed package: the bundle scripts/build-package.js made with the same esbuild options.
    if (prebuilt) {
      this.function = new lambda.Function(this, 'Function', { ...common, code: lambda.Code.fromAsset(prebuilt) });
      return;
    }
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...common,
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        // The local esbuild (devDependency) bundles; CDK must never fall back to a Docker build.
        // scripts/build-package.js bundles with the same options for the package.
        forceDockerBundling: false,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        logLevel: nodejs.LogLevel.WARNING,
        // Bundle the pinned SDK clients instead of relying on the runtime's copy.
        externalModules: [],
      },
    });
  }
}
