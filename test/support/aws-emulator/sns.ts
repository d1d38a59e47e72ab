import { randomUUID } from 'node:crypto';
import { ACCOUNT_ID, type EmulatorState, type SubscriptionState, type TopicState } from './state.js';
import { ServiceError, decodeToken, el, encodeToken, formMap, formTags, queryError, queryResponse, type FormParams, type WireResponse } from './wire.js';

// SNS over awsQuery: form body `Action=CreateTopic&Version=2010-03-31&Name=...`, XML responses
// `<XResponse><XResult>` whose lists are `<member>` elements, errors as `<ErrorResponse><Error>`.

export const SNS_VERSION = '2010-03-31';
const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const PAGE_SIZE = 100;
/** What SNS returns for an unconfirmed subscription: Subscribe says "pending confirmation", lists say "PendingConfirmation". */
export const PENDING_SUBSCRIBE = 'pending confirmation';
export const PENDING_LIST = 'PendingConfirmation';

export function snsError(error: ServiceError): WireResponse {
  return queryError(error, XMLNS);
}

const invalid = (message: string) => new ServiceError('InvalidParameter', message);
const notFound = (message: string) => new ServiceError('NotFound', message, 404);

export function handleSns(state: EmulatorState, action: string, params: FormParams, region: string): WireResponse {
  const respond = (result: string) => queryResponse(action, XMLNS, result);
  switch (action) {
    case 'CreateTopic':
      return respond(el('TopicArn', createTopic(state, params, region).arn));
    case 'ListTopics': {
      const arns = [...state.topics.keys()].sort();
      const { page, next } = paginate(arns, params.get('NextToken'), 'topics');
      return respond(el('Topics', page.map((arn) => `<member>${el('TopicArn', arn)}</member>`)) + el('NextToken', next));
    }
    case 'GetTopicAttributes': {
      const topic = topicOf(state, params.get('TopicArn'));
      const attributes: Record<string, string> = {
        TopicArn: topic.arn,
        Owner: ACCOUNT_ID,
        DisplayName: '',
        SubscriptionsConfirmed: String(state.subscriptions.filter((s) => s.topicArn === topic.arn && !s.pending).length),
        SubscriptionsPending: String(state.subscriptions.filter((s) => s.topicArn === topic.arn && s.pending).length),
        ...topic.attributes,
      };
      const entries = Object.entries(attributes).map(([key, value]) => `<entry>${el('key', key)}${el('value', value)}</entry>`);
      return respond(el('Attributes', entries));
    }
    case 'Subscribe':
      return respond(el('SubscriptionArn', subscribe(state, params)));
    case 'ListSubscriptionsByTopic': {
      const topic = topicOf(state, params.get('TopicArn'));
      const subscriptions = state.subscriptions.filter((s) => s.topicArn === topic.arn);
      const { page, next } = paginate(subscriptions, params.get('NextToken'), `subs|${topic.arn}`);
      return respond(el('Subscriptions', page.map(subscriptionXml)) + el('NextToken', next));
    }
    case 'ListSubscriptions': {
      const { page, next } = paginate(state.subscriptions, params.get('NextToken'), 'subs');
      return respond(el('Subscriptions', page.map(subscriptionXml)) + el('NextToken', next));
    }
    case 'Unsubscribe':
      unsubscribe(state, params);
      return respond('');
    case 'Publish': {
      const topic = topicOf(state, params.get('TopicArn'));
      const message = params.get('Message');
      if (message === undefined || message === '') throw invalid('Invalid parameter: Empty message');
      const messageId = randomUUID();
      state.published.push({ topicArn: topic.arn, messageId, subject: params.get('Subject'), message });
      return respond(el('MessageId', messageId));
    }
    case 'TagResource': {
      const topic = topicOf(state, params.get('ResourceArn'), 'ResourceNotFound');
      for (const tag of formTags(params, 'Tags')) {
        const existing = topic.tags.find((t) => t.Key === tag.Key);
        if (existing) existing.Value = tag.Value;
        else topic.tags.push(tag);
      }
      return respond('');
    }
    case 'ListTagsForResource': {
      const topic = topicOf(state, params.get('ResourceArn'), 'ResourceNotFound');
      return respond(el('Tags', topic.tags.map((tag) => `<member>${el('Key', tag.Key)}${el('Value', tag.Value)}</member>`)));
    }
    default:
      throw new ServiceError('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}

/** Marks a pending subscription confirmed, as when its owner clicks the link in the email. */
export function confirmSubscription(state: EmulatorState, endpoint: string, topicArn?: string): SubscriptionState {
  const subscription = state.subscriptions.find((s) => s.endpoint === endpoint && (topicArn === undefined || s.topicArn === topicArn));
  if (!subscription) throw new Error(`no subscription for ${endpoint}`);
  subscription.pending = false;
  return subscription;
}

function createTopic(state: EmulatorState, params: FormParams, region: string): TopicState {
  const name = params.get('Name') ?? '';
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(name)) {
    throw invalid('Invalid parameter: Topic Name');
  }
  const arn = `arn:aws:sns:${region}:${ACCOUNT_ID}:${name}`;
  const tags = formTags(params, 'Tags');
  const existing = state.topics.get(arn);
  if (existing) {
    // CreateTopic is idempotent, but not when asked for other tags than the topic has.
    const differs = tags.some((tag) => existing.tags.find((t) => t.Key === tag.Key)?.Value !== tag.Value);
    if (tags.length > 0 && differs) throw invalid('Invalid parameter: Tags Reason: Topic already exists with different tags');
    return existing;
  }
  const topic: TopicState = { arn, name, attributes: formMap(params, 'Attributes'), tags };
  state.topics.set(arn, topic);
  return topic;
}

function topicOf(state: EmulatorState, arn: string | undefined, missingCode: 'NotFound' | 'ResourceNotFound' = 'NotFound'): TopicState {
  if (arn === undefined || arn === '') throw invalid('Invalid parameter: TopicArn');
  if (!/^arn:aws:sns:[^:]+:\d{12}:[A-Za-z0-9_-]+$/.test(arn)) throw invalid(`Invalid parameter: TopicArn`);
  const topic = state.topics.get(arn);
  if (!topic) {
    throw missingCode === 'NotFound' ? notFound('Topic does not exist') : new ServiceError('ResourceNotFound', 'Resource does not exist', 404);
  }
  return topic;
}

const PROTOCOLS = new Set(['http', 'https', 'email', 'email-json', 'sms', 'sqs', 'application', 'lambda', 'firehose']);
/** Protocols whose owner must confirm; the others are live at once. */
const NEEDS_CONFIRMATION = new Set(['http', 'https', 'email', 'email-json']);

function subscribe(state: EmulatorState, params: FormParams): string {
  const topic = topicOf(state, params.get('TopicArn'));
  const protocol = params.get('Protocol') ?? '';
  const endpoint = params.get('Endpoint') ?? '';
  if (!PROTOCOLS.has(protocol)) throw invalid('Invalid parameter: Amazon SNS does not support this protocol string');
  if (protocol.startsWith('email') && !/^[^@\s]+@[^@\s]+$/.test(endpoint)) throw invalid('Invalid parameter: Email address');
  if ((protocol === 'https' && !endpoint.startsWith('https://')) || (protocol === 'http' && !endpoint.startsWith('http://'))) {
    throw invalid('Invalid parameter: Endpoint must match the specified protocol');
  }
  const returnArn = params.get('ReturnSubscriptionArn') === 'true';
  const existing = state.subscriptions.find((s) => s.topicArn === topic.arn && s.protocol === protocol && s.endpoint === endpoint);
  if (existing) return existing.pending && !returnArn ? PENDING_SUBSCRIBE : existing.arn;
  const subscription: SubscriptionState = {
    arn: `${topic.arn}:${randomUUID()}`,
    topicArn: topic.arn,
    protocol,
    endpoint,
    pending: NEEDS_CONFIRMATION.has(protocol),
  };
  state.subscriptions.push(subscription);
  return subscription.pending && !returnArn ? PENDING_SUBSCRIBE : subscription.arn;
}

function unsubscribe(state: EmulatorState, params: FormParams): void {
  const arn = params.get('SubscriptionArn') ?? '';
  if (!/^arn:aws:sns:/.test(arn)) throw invalid('Invalid parameter: SubscriptionArn');
  const index = state.subscriptions.findIndex((s) => s.arn === arn);
  if (index < 0) throw notFound('Subscription does not exist');
  state.subscriptions.splice(index, 1);
}

function subscriptionXml(subscription: SubscriptionState): string {
  return (
    '<member>' +
    el('Owner', ACCOUNT_ID) +
    el('Endpoint', subscription.endpoint) +
    el('Protocol', subscription.protocol) +
    el('SubscriptionArn', subscription.pending ? PENDING_LIST : subscription.arn) +
    el('TopicArn', subscription.topicArn) +
    '</member>'
  );
}

function paginate<T>(items: T[], token: string | undefined, scope: string): { page: T[]; next: string | undefined } {
  let offset = 0;
  if (token !== undefined && token !== '') {
    const decoded = decodeToken(token, scope);
    if (decoded === undefined) throw invalid('Invalid parameter: NextToken');
    offset = decoded;
  }
  const end = offset + PAGE_SIZE;
  return { page: items.slice(offset, end), next: end < items.length ? encodeToken(end, scope) : undefined };
}
