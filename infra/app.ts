import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BatchConfigError, describeConfigError } from '../config/batch-config';
import { BATCHES } from '../config/batches';
import { addBatchRunnerStacks } from './batch-runner-app';
import { contextSettings } from './context-settings';

/**
 * `npx cdk synth` / `npx cdk deploy --all`: the batches of config/batches.ts. Settings come from
 * cdk.json or `-c key=value` (see infra/context-settings.ts); none needs AWS credentials.
 */
const app = new App();
const settings = contextSettings(app);
try {
  addBatchRunnerStacks(app, { batches: BATCHES, ...settings });
} catch (err) {
  // A configuration error is the operator's to fix: what and how, no stack trace.
  if (!(err instanceof BatchConfigError)) throw err;
  console.error(describeConfigError(err));
  process.exit(1);
}
// cdk-nag (AwsSolutions) at every synth: an unacknowledged finding stops the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
