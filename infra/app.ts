import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BATCHES } from '../config/batches';
import { addBatchRunnerStacks } from './batch-runner-app';
import { contextSettings } from './context-settings';

/**
 * `npx cdk synth` / `npx cdk deploy --all`: the batches of config/batches.ts. Settings come from
 * cdk.json or `-c key=value` (see infra/context-settings.ts); none needs AWS credentials.
 */
const app = new App();
const settings = contextSettings(app);
addBatchRunnerStacks(app, { batches: BATCHES, ...settings });
// cdk-nag (AwsSolutions) at every synth: an unacknowledged finding stops the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
