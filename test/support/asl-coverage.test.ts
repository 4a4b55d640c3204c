import { StateMachine } from 'aws-local-stepfunctions';
import type { EngineEvent } from '../../local/run-execution';
import { edgesOf, transitionsOf } from './asl-coverage';

/** The coverage measure itself, on a small definition: edges are read from what the engine did. */
const definition = {
  StartAt: 'Work',
  States: {
    Work: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Retry: [{ ErrorEquals: ['Transient'], MaxAttempts: 2 }],
      Catch: [
        { ErrorEquals: ['Fatal'], Next: 'Handle' },
        { ErrorEquals: ['States.ALL'], Next: 'Handle' },
      ],
      Next: 'Decide',
    },
    Decide: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.n', NumericLessThan: 1, Next: 'Each' },
        { Variable: '$.n', NumericLessThan: 2, Next: 'Each' },
      ],
      Default: 'Each',
    },
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: { StartAt: 'One', States: { One: { Type: 'Pass', End: true } } },
      ResultPath: null,
      Next: 'Done',
    },
    Handle: { Type: 'Fail', Error: 'Handled' },
    Done: { Type: 'Succeed' },
  },
};

async function edgesTaken(input: unknown, errors: string[]): Promise<string[]> {
  const machine = new StateMachine(definition as any, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as any, {
    overrides: {
      taskResourceLocalHandlers: {
        Work: async (i: any) => {
          const error = errors.shift();
          if (error) throw Object.assign(new Error(error), { name: error });
          return i;
        },
      },
      retryIntervalOverrides: { Work: 0 },
    },
  });
  const events: EngineEvent[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  await execution.result.catch(() => undefined);
  await collect;
  return (await transitionsOf(definition, events, { Execution: { Id: 'test' } })).sort();
}

test('every edge of a definition: Next, Choice rules and Default, Catch, Retry, Map iteration, End', () => {
  expect(edgesOf(definition).map((e) => e.id)).toEqual([
    'Work --Retry[0]--> Work',
    'Work --Catch[0]--> Handle',
    'Work --Catch[1]--> Handle',
    'Work --Next--> Decide',
    'Decide --Choices[0]--> Each',
    'Decide --Choices[1]--> Each',
    'Decide --Default--> Each',
    'Each --ItemProcessor--> One',
    'Each --Next--> Done',
    'One --End',
  ]);
});

test('a retry, then a Choice rule told apart from others with the same target, a Map iteration', async () => {
  expect(await edgesTaken({ n: 1, items: [1] }, ['Transient'])).toEqual([
    'Decide --Choices[1]--> Each',
    'Each --ItemProcessor--> One',
    'Each --Next--> Done',
    'One --End',
    'Work --Next--> Decide',
    'Work --Retry[0]--> Work',
  ]);
  expect(await edgesTaken({ n: 5, items: [] }, [])).toEqual([
    'Decide --Default--> Each',
    'Each --Next--> Done',
    'Work --Next--> Decide',
  ]);
});

test('which Catch caught, even when two lead to the same state', async () => {
  expect(await edgesTaken({ n: 0, items: [] }, ['Fatal'])).toEqual(['Work --Catch[0]--> Handle']);
  expect(await edgesTaken({ n: 0, items: [] }, ['Transient', 'Transient', 'Other'])).toEqual([
    'Work --Catch[1]--> Handle',
    'Work --Retry[0]--> Work',
  ]);
});
