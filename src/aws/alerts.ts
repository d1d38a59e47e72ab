import {
  CreateTopicCommand,
  ListTagsForResourceCommand,
  PublishCommand,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
  paginateListSubscriptionsByTopic,
  paginateListTopics,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { awsFailure, createSnsClient, resolvedRegion, type AwsClientOptions } from './clients.js';

// SNS behind a small interface: the topic alarms notify, its subscriptions, and publishing.

/** SNS lists an unconfirmed subscription with this in place of its ARN. */
export const PENDING_CONFIRMATION = 'PendingConfirmation';

export interface TopicSubscription {
  protocol: string;
  endpoint: string;
  /** Undefined while the subscription waits for its owner to confirm it. */
  arn: string | undefined;
  pending: boolean;
}

export interface AlertsService {
  /** The region the client talks to. */
  region(): Promise<string>;
  /** The ARN of the topic of this name, if it exists (read-only: ListTopics). */
  findTopic(name: string): Promise<string | undefined>;
  /** Creates the topic, or returns the existing one (CreateTopic is idempotent). */
  ensureTopic(name: string, tags: Record<string, string>): Promise<string>;
  topicTags(topicArn: string): Promise<Record<string, string>>;
  tagTopic(topicArn: string, tags: Record<string, string>): Promise<void>;
  listSubscriptions(topicArn: string): Promise<TopicSubscription[]>;
  /** Returns the new subscription; `pending` when the endpoint must confirm first. */
  subscribe(topicArn: string, protocol: string, endpoint: string): Promise<TopicSubscription>;
  unsubscribe(subscriptionArn: string): Promise<void>;
  publish(topicArn: string, subject: string, message: string): Promise<string>;
}

function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function sdkAlertsService(options: AwsClientOptions = {}, client: SNSClient = createSnsClient(options)): AlertsService {
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    await resolvedRegion(client);
    try {
      return await run();
    } catch (error) {
      throw awsFailure(`SNS ${what}`, error, 'E_AWS_SNS');
    }
  };
  return {
    region: () => resolvedRegion(client),
    findTopic: (name) =>
      call(`ListTopics (looking for ${name})`, async () => {
        for await (const page of paginateListTopics({ client }, {})) {
          for (const topic of page.Topics ?? []) {
            if (topic.TopicArn?.split(':').at(-1) === name) return topic.TopicArn;
          }
        }
        return undefined;
      }),
    ensureTopic: (name, tags) =>
      call(`CreateTopic ${name}`, async () => {
        const out = await client.send(new CreateTopicCommand({ Name: name, Tags: tagList(tags) }));
        if (!out.TopicArn) throw new Error('CreateTopic returned no TopicArn');
        return out.TopicArn;
      }),
    topicTags: (topicArn) =>
      call(`ListTagsForResource ${topicArn}`, async () => {
        const out = await client.send(new ListTagsForResourceCommand({ ResourceArn: topicArn }));
        return Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      }),
    tagTopic: (topicArn, tags) =>
      call(`TagResource ${topicArn}`, async () => {
        await client.send(new TagResourceCommand({ ResourceArn: topicArn, Tags: tagList(tags) }));
      }),
    listSubscriptions: (topicArn) =>
      call(`ListSubscriptionsByTopic ${topicArn}`, async () => {
        const found: TopicSubscription[] = [];
        for await (const page of paginateListSubscriptionsByTopic({ client }, { TopicArn: topicArn })) {
          for (const sub of page.Subscriptions ?? []) {
            const pending = sub.SubscriptionArn === PENDING_CONFIRMATION;
            found.push({ protocol: sub.Protocol ?? '', endpoint: sub.Endpoint ?? '', arn: pending ? undefined : sub.SubscriptionArn, pending });
          }
        }
        return found;
      }),
    subscribe: (topicArn, protocol, endpoint) =>
      call(`Subscribe ${protocol} ${endpoint}`, async () => {
        // SNS answers "pending confirmation" instead of an ARN until the endpoint confirms.
        const out = await client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: protocol, Endpoint: endpoint }));
        const arn = out.SubscriptionArn;
        const pending = arn === undefined || !arn.startsWith('arn:');
        return { protocol, endpoint, arn: pending ? undefined : arn, pending };
      }),
    unsubscribe: (subscriptionArn) =>
      call(`Unsubscribe ${subscriptionArn}`, async () => {
        await client.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
      }),
    publish: (topicArn, subject, message) =>
      call(`Publish to ${topicArn}`, async () => {
        const out = await client.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
        return out.MessageId ?? '';
      }),
  };
}
