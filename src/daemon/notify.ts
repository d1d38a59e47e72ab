import type { AlertsService } from '../aws/alerts.js';

// Where the daemon's messages go: an SNS topic, or nowhere when the file names none.
export interface Notifier {
  /** Sends one message. SNS itself throws on a failure; the daemon's guarded notifier (publish.ts) resolves false instead. */
  publish(subject: string, message: string): Promise<boolean | void>;
}

/** SNS subjects: at most 100 ASCII characters, no line breaks. */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 97)}...` : ascii;
}

export function snsNotifier(alerts: AlertsService, topicArn: string): Notifier {
  return {
    async publish(subject, message) {
      await alerts.publish(topicArn, snsSubject(subject), message);
    },
  };
}

export const silentNotifier: Notifier = { publish: async () => {} };
