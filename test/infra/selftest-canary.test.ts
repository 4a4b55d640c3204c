import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BATCHES } from '../../config/batches';
import { stateMachineName } from '../../config/naming';
import { SELFTEST_BATCH, SELFTEST_ENV } from '../../config/selftest-batch';
import { SCHEDULER_INPUT_TEMPLATE } from '../../cli/commands/selftest';
import { validateManualInput } from '../../handlers/lib/manual-input';
import { CONTEXT_KEYS, contextSettings } from '../../infra/context-settings';
import { synthApp } from './synth';

/** The canary batch of `batch-runner selftest`: only when asked, never in the default app. */
describe('selftest canary batch', () => {
  test('-c batchRunner:selftest=true asks for it; anything but true/false is refused naming the key and the fix', () => {
    const settings = (value: unknown) => contextSettings(new App({ context: { [CONTEXT_KEYS.selftest]: value } }));
    expect(settings('true').selftest).toBe(true);
    expect(settings(true).selftest).toBe(true);
    expect(settings('false').selftest).toBeUndefined();
    expect(() => settings('yes')).toThrow(
      /context batchRunner:selftest = "yes" is invalid: give true \(add the selftest canary batch\) or false\./,
    );
    expect(contextSettings(new App({ context: {} })).selftest).toBeUndefined();
  });

  test('the default app has no canary; with selftest it is added after the batches, schedule disabled, alarms silent', () => {
    const plain = synthApp(BATCHES);
    expect(JSON.stringify(plain.json)).not.toContain(SELFTEST_BATCH.name);

    const s = synthApp(BATCHES, { selftest: true });
    expect(s.batches.map((b) => b.batch.name)).toEqual([...BATCHES.map((b) => b.name), SELFTEST_BATCH.name]);
    const [t] = s.batchTemplates;
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: stateMachineName(SELFTEST_BATCH.name),
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: `batch-runner-${SELFTEST_BATCH.name}`,
      State: 'DISABLED',
    });
    // The one-off schedule of `selftest` sends exactly what the deployed schedules send.
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: `batch-runner-${SELFTEST_BATCH.name}`,
      Target: Match.objectLike({ Input: JSON.stringify(SCHEDULER_INPUT_TEMPLATE) }),
    });
    // Other batches keep their enabled schedules.
    t.hasResourceProperties('AWS::Scheduler::Schedule', { Name: `batch-runner-${BATCHES[0].name}`, State: 'ENABLED' });
    for (const suffix of ['missed-run', 'near-hard-timeout']) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `batch-runner-${SELFTEST_BATCH.name}-${suffix}`,
        AlarmActions: Match.absent(),
      });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `batch-runner-${BATCHES[0].name}-${suffix}`,
        AlarmActions: Match.anyValue(),
      });
    }
    // A small public image; SIGTERM to SIGKILL after the canary's stop grace.
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'canary',
          Image: 'public.ecr.aws/docker/library/busybox:1.37',
          Command: ['sh', '-c', Match.stringLikeRegexp("trap '' TERM")],
          StopTimeout: SELFTEST_BATCH.stopGraceSeconds,
        }),
      ],
    });
    // cdk-nag still passes with the canary.
    const report = new AwsSolutionsChecks().validateScope(s.app);
    expect(
      report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    ).toEqual([]);
  });

  test("the canary's environment overrides are allowed for the canary only", () => {
    const input = {
      trigger: 'cli',
      overrides: {
        environment: {
          [SELFTEST_ENV.sleepSeconds]: '5',
          [SELFTEST_ENV.exitCode]: '3',
          [SELFTEST_ENV.ignoreSigterm]: 'true',
        },
      },
    };
    const policyOf = (b: typeof SELFTEST_BATCH) => ({
      batchName: b.name,
      containerName: b.containerName,
      allowedEnvironment: b.overrides?.environment ?? [],
      allowCommand: b.overrides?.command ?? false,
    });
    expect(validateManualInput(input, policyOf(SELFTEST_BATCH)).validation.valid).toBe(true);
    for (const b of BATCHES) {
      const { validation } = validateManualInput(input, policyOf(b));
      expect(validation.valid).toBe(false);
      expect(validation.valid ? [] : validation.problems.join('\n')).toMatch(/SELFTEST_SLEEP_SECONDS/);
    }
    expect(SELFTEST_BATCH.overrides?.command ?? false).toBe(false);
  });
});
