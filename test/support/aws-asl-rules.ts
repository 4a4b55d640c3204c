/**
 * Rules of AWS Step Functions for a definition that asl-validator (4.0.0) does not check, each with its
 * source. A definition that breaks one is refused by CreateStateMachine/UpdateStateMachine, so a mutant
 * that breaks one cannot be deployed (bench/mutate-asl.ts does not run it) and the structure tests
 * refuse a template that breaks one.
 *
 * Verified offline only, from the documents cited; a real account's ValidateStateMachineDefinition is
 * the final word.
 */

type Json = any;

/** Every retrier of a definition (Map and Parallel inner states included), with its state's name. */
function retriersOf(states: Json): Array<{ state: string; index: number; retrier: Json }> {
  const found: Array<{ state: string; index: number; retrier: Json }> = [];
  for (const [name, state] of Object.entries<Json>(states)) {
    (state.Retry ?? []).forEach((retrier: Json, index: number) => found.push({ state: name, index, retrier }));
    if (state.Type === 'Map') found.push(...retriersOf((state.ItemProcessor ?? state.Iterator).States));
    if (state.Type === 'Parallel') for (const branch of state.Branches) found.push(...retriersOf(branch.States));
  }
  return found;
}

/**
 * Retrier fields outside the range AWS accepts. `IntervalSeconds`: "A positive integer that represents
 * the number of seconds before the first retry attempt (1 by default). IntervalSeconds has a maximum
 * value of 99999999." (AWS Step Functions Developer Guide, "Retrying after an error"; the States Language
 * specification says the same: a positive integer). asl-validator's schema accepts 0.
 */
export function retrierProblems(definition: Json): string[] {
  return retriersOf(definition.States)
    .filter(({ retrier }) => 'IntervalSeconds' in retrier)
    .filter(
      ({ retrier }) =>
        !Number.isInteger(retrier.IntervalSeconds) ||
        retrier.IntervalSeconds < 1 ||
        retrier.IntervalSeconds > 99_999_999,
    )
    .map(
      ({ state, index, retrier }) =>
        `${state}.Retry[${index}].IntervalSeconds is ${retrier.IntervalSeconds}; AWS accepts a whole number of seconds from 1 to 99999999`,
    );
}
