import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendJsonLine, readJsonLines } from './json-lines';
import type { SnsService } from './task-resources';

/** One message the state machine (or the local cleanup) published on the alert topic. */
export interface LocalAlert {
  readonly messageId: string;
  readonly at: string;
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  /** SNS message attributes as plain strings: batch, outcome, severity, trigger. */
  readonly attributes: Record<string, string>;
}

/**
 * SNS for the local mode: every publish is appended as one JSON line to `alerts.jsonl` (what an e-mail
 * subscription would receive) and handed to `onAlert` to be printed.
 */
export class LocalSns implements SnsService {
  private counter = 0;

  constructor(
    readonly path: string,
    private readonly onAlert?: (alert: LocalAlert) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async publish(params: Record<string, any>): Promise<{ MessageId: string }> {
    this.counter += 1;
    const attributes = Object.fromEntries(
      Object.entries((params.MessageAttributes ?? {}) as Record<string, { StringValue?: string }>).map(([k, v]) => [
        k,
        String(v?.StringValue ?? ''),
      ]),
    );
    const alert: LocalAlert = {
      messageId: `local-${process.pid}-${Date.now()}-${this.counter}`,
      at: new Date().toISOString(),
      topicArn: String(params.TopicArn ?? ''),
      subject: params.Subject,
      message: String(params.Message ?? ''),
      attributes,
    };
    appendJsonLine(this.path, alert);
    this.onAlert?.(alert);
    return { MessageId: alert.messageId };
  }
}

/** Every alert in an alerts file, oldest first. */
export function readAlerts(path: string): LocalAlert[] {
  return readJsonLines<LocalAlert>(path);
}
