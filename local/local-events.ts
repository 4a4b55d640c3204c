import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendJsonLine, readJsonLines } from './json-lines';
import type { EventsService } from './task-resources';

/** One event a state machine put on the bus (PutEventsRequestEntry, Detail as an object). */
export interface LocalBusEvent {
  readonly id: string;
  readonly at: string;
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, any>;
}

/**
 * EventBridge for the local mode: every entry put is appended as one JSON line to `events.jsonl`
 * (what a rule on the bus would see) and handed to `onEvent`.
 */
export class LocalEvents implements EventsService {
  private counter = 0;

  constructor(
    readonly path: string,
    private readonly onEvent?: (event: LocalBusEvent) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async putEvents(
    params: Record<string, any>,
  ): Promise<{ Entries: Array<{ EventId: string }>; FailedEntryCount: number }> {
    const entries = (params.Entries ?? []) as Array<Record<string, any>>;
    const ids: Array<{ EventId: string }> = [];
    for (const entry of entries) {
      this.counter += 1;
      const event: LocalBusEvent = {
        id: `local-${process.pid}-${Date.now()}-${this.counter}`,
        at: new Date().toISOString(),
        eventBusName: String(entry.EventBusName ?? 'default'),
        source: String(entry.Source),
        detailType: String(entry.DetailType),
        detail: typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : entry.Detail,
      };
      appendJsonLine(this.path, event);
      this.onEvent?.(event);
      ids.push({ EventId: event.id });
    }
    return { Entries: ids, FailedEntryCount: 0 };
  }
}

/** Every event in an events file, oldest first. */
export function readBusEvents(path: string): LocalBusEvent[] {
  return readJsonLines<LocalBusEvent>(path);
}
