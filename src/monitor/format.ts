import type { MonitorReport, MonitorResult } from './apply.js';

// Plain lines for people and one JSON document for scripts.

export function formatPlan(report: MonitorReport): string {
  const { plan, summary } = report;
  const lines: string[] = [
    `monitor ${report.monitor}: region ${report.region}, topic ${report.topic}, ${report.instanceIds.length} instance${report.instanceIds.length === 1 ? '' : 's'}`,
  ];
  const row = (kind: string, action: string, subject: string, detail?: string) =>
    lines.push(`  ${kind.padEnd(12)} ${action.padEnd(9)} ${subject}${detail ? `  ${detail}` : ''}`);
  const topicDetail =
    plan.topic.action === 'tag' ? `(add tags ${Object.entries(plan.topic.missingTags).map(([k, v]) => `${k}=${v}`).join(', ')})` : plan.topic.arn ? `(${plan.topic.arn})` : undefined;
  row('topic', plan.topic.action, plan.topic.name, topicDetail);
  for (const sub of plan.subscriptions) row('subscription', sub.action, `${sub.protocol} ${sub.endpoint}`, sub.note ? `(${sub.note})` : undefined);
  for (const alarm of plan.alarms) {
    const detail = alarm.changes.length > 0 ? `(${alarm.changes.map((c) => `${c.field}: ${c.from} -> ${c.to}`).join('; ')})` : alarm.note ? `(${alarm.note})` : undefined;
    row('alarm', alarm.action, alarm.name, detail);
  }
  const a = summary.alarms;
  const s = summary.subscriptions;
  lines.push(
    `plan: topic ${summary.topic}; subscriptions ${s.create} to create, ${s.delete} to delete, ${s.unchanged} unchanged, ${s.pending} pending; ` +
      `alarms ${a.create} to create, ${a.update} to update, ${a.delete} to delete, ${a.unchanged} unchanged${a.conflict > 0 ? `, ${a.conflict} in conflict` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatResult(result: MonitorResult): string {
  if (result.check) return result.summary.changes > 0 ? `check: ${result.summary.changes} change(s) pending\n` : 'check: no changes\n';
  return result.applied > 0 ? `applied: ${result.applied} change(s)\n` : 'applied: nothing to change\n';
}

/** The --json document: the plan with every line, the summary, and what was applied. */
export function resultJson(result: MonitorResult): string {
  const document = {
    ok: result.summary.alarms.conflict === 0,
    check: result.check,
    monitor: result.monitor,
    region: result.region,
    instances: result.instanceIds,
    topic: { name: result.topic, arn: result.topicArn ?? null, action: result.plan.topic.action },
    subscriptions: result.plan.subscriptions.map((sub) => ({
      protocol: sub.protocol,
      endpoint: sub.endpoint,
      action: sub.action,
      ...(sub.note ? { note: sub.note } : {}),
    })),
    alarms: result.plan.alarms.map((alarm) => ({
      name: alarm.name,
      action: alarm.action,
      ...(alarm.changes.length > 0 ? { changes: alarm.changes } : {}),
      ...(alarm.note ? { note: alarm.note } : {}),
    })),
    summary: result.summary,
    applied: result.applied,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
