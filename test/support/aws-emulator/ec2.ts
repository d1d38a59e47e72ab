import { DEFAULT_REGION, hexId, type EmulatorState, type InstanceInput, type InstanceState } from './state.js';
import { ServiceError, decodeToken, ec2Error, ec2Response, el, encodeToken, formList, globMatch, indexedKeys, type FormParams, type WireResponse } from './wire.js';

// EC2 over ec2Query: form body `Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=...`,
// XML responses whose lists are `<item>` elements, errors as `<Response><Errors><Error>`.

export const EC2_VERSION = '2016-11-15';

export function ec2ErrorResponse(error: ServiceError): WireResponse {
  return ec2Error(error);
}

export function handleEc2(state: EmulatorState, action: string, params: FormParams, region: string): WireResponse {
  switch (action) {
    case 'DescribeInstances':
      return describeInstances(state, params, region);
    default:
      throw new ServiceError('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}

const STATE_CODES: Record<InstanceState['state'], number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

let ipCounter = 0;

/** Fills defaults for instances a test adds (addresses derived from a counter, DNS names from them). */
export function makeInstance(input: InstanceInput): InstanceState {
  ipCounter++;
  const region = input.region ?? DEFAULT_REGION;
  const privateIp = input.privateIp === undefined ? `10.0.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 2}` : (input.privateIp ?? undefined);
  const publicIp = input.publicIp === undefined ? `203.0.113.${(ipCounter % 250) + 2}` : (input.publicIp ?? undefined);
  const state = input.state ?? 'running';
  const dnsSuffix = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return {
    instanceId: input.id ?? `i-${hexId(17)}`,
    reservationId: input.reservationId ?? `r-${hexId(17)}`,
    region,
    state,
    instanceType: input.type ?? 't3.micro',
    imageId: 'ami-0abcdef1234567890',
    availabilityZone: `${region}a`,
    privateIp,
    publicIp: state === 'running' ? publicIp : undefined,
    privateDns: input.privateDns === undefined ? (privateIp ? `ip-${privateIp.replace(/\./g, '-')}.${dnsSuffix}` : undefined) : (input.privateDns ?? undefined),
    publicDns:
      input.publicDns === undefined
        ? publicIp && state === 'running'
          ? `ec2-${publicIp.replace(/\./g, '-')}.compute-1.amazonaws.com`
          : undefined
        : (input.publicDns ?? undefined),
    vpcId: 'vpc-0123456789abcdef0',
    subnetId: 'subnet-0123456789abcdef0',
    launchTime: new Date(),
    tags: { ...(input.tags ?? {}) },
  };
}

interface Filter {
  name: string;
  values: string[];
}

function readFilters(params: FormParams): Filter[] {
  return indexedKeys(params, 'Filter').map((base) => ({
    name: params.get(`${base}.Name`) ?? '',
    values: formList(params, `${base}.Value`),
  }));
}

// The filter names this emulator knows; EC2 rejects unknown names the same way.
function filterValue(instance: InstanceState, name: string): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = instance.tags[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  const single = (value: string | undefined) => (value === undefined ? [] : [value]);
  switch (name) {
    case 'tag-key':
      return Object.keys(instance.tags);
    case 'tag-value':
      return Object.values(instance.tags);
    case 'instance-state-name':
      return [instance.state];
    case 'instance-state-code':
      return [String(STATE_CODES[instance.state])];
    case 'instance-id':
      return [instance.instanceId];
    case 'instance-type':
      return [instance.instanceType];
    case 'availability-zone':
      return [instance.availabilityZone];
    case 'private-ip-address':
      return single(instance.privateIp);
    case 'ip-address':
      return single(instance.publicIp);
    case 'private-dns-name':
      return single(instance.privateDns);
    case 'dns-name':
      return single(instance.publicDns);
    case 'vpc-id':
      return single(instance.vpcId);
    case 'subnet-id':
      return single(instance.subnetId);
    case 'reservation-id':
      return [instance.reservationId];
    default:
      return undefined;
  }
}

function describeInstances(state: EmulatorState, params: FormParams, region: string): WireResponse {
  const ids = formList(params, 'InstanceId');
  const filters = readFilters(params);
  const maxText = params.get('MaxResults');
  const token = params.get('NextToken');
  let maxResults: number | undefined;
  if (maxText !== undefined) {
    if (ids.length > 0) {
      throw new ServiceError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    maxResults = Number(maxText);
    if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000) {
      throw new ServiceError('InvalidParameterValue', `Value ( ${maxText} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
    }
  }
  for (const filter of filters) {
    if (!isKnownFilter(filter.name)) {
      throw new ServiceError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    }
  }

  let selected = state.instances.filter((instance) => instance.region === region);
  if (ids.length > 0) {
    const missing = ids.filter((id) => !selected.some((instance) => instance.instanceId === id));
    if (missing.length > 0) {
      throw new ServiceError('InvalidInstanceID.NotFound', `The instance ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' do${missing.length > 1 ? '' : 'es'} not exist`);
    }
    selected = selected.filter((instance) => ids.includes(instance.instanceId));
  }
  // Values of one filter are ORed; filters are ANDed.
  selected = selected.filter((instance) =>
    filters.every((filter) => {
      const actual = filterValue(instance, filter.name) ?? [];
      return filter.values.some((pattern) => actual.some((value) => globMatch(pattern, value)));
    }),
  );

  const scope = `${region}|${JSON.stringify(filters)}|${ids.join(',')}`;
  let offset = 0;
  if (token !== undefined) {
    const decoded = decodeToken(token, scope);
    if (decoded === undefined) throw new ServiceError('InvalidPaginationToken', `The pagination token ${token} is invalid.`);
    offset = decoded;
  }
  const end = maxResults === undefined ? selected.length : Math.min(selected.length, offset + maxResults);
  const page = selected.slice(offset, end);
  const nextToken = end < selected.length ? encodeToken(end, scope) : undefined;

  // Instances launched together share a reservation; the page keeps their order.
  const reservations = new Map<string, InstanceState[]>();
  for (const instance of page) {
    const list = reservations.get(instance.reservationId) ?? [];
    list.push(instance);
    reservations.set(instance.reservationId, list);
  }
  const items = [...reservations.entries()].map(
    ([reservationId, instances]) =>
      `<item>${el('reservationId', reservationId)}${el('ownerId', '123456789012')}<groupSet/>` +
      `${el('instancesSet', instances.map(instanceXml))}</item>`,
  );
  return ec2Response('DescribeInstances', `${el('reservationSet', items)}${el('nextToken', nextToken)}`);
}

const KNOWN_FILTERS = new Set([
  'tag-key', 'tag-value', 'instance-state-name', 'instance-state-code', 'instance-id', 'instance-type', 'availability-zone',
  'private-ip-address', 'ip-address', 'private-dns-name', 'dns-name', 'vpc-id', 'subnet-id', 'reservation-id',
]);

function isKnownFilter(name: string): boolean {
  return (name.startsWith('tag:') && name.length > 4) || KNOWN_FILTERS.has(name);
}

function instanceXml(instance: InstanceState): string {
  const tags = Object.entries(instance.tags).map(([key, value]) => `<item>${el('key', key)}${el('value', value)}</item>`);
  return (
    '<item>' +
    el('instanceId', instance.instanceId) +
    el('imageId', instance.imageId) +
    `<instanceState>${el('code', STATE_CODES[instance.state])}${el('name', instance.state)}</instanceState>` +
    el('privateDnsName', instance.privateDns ?? '') +
    el('dnsName', instance.publicDns ?? '') +
    el('instanceType', instance.instanceType) +
    el('launchTime', instance.launchTime.toISOString()) +
    `<placement>${el('availabilityZone', instance.availabilityZone)}<tenancy>default</tenancy></placement>` +
    el('subnetId', instance.subnetId) +
    el('vpcId', instance.vpcId) +
    el('privateIpAddress', instance.privateIp) +
    el('ipAddress', instance.publicIp) +
    (tags.length > 0 ? el('tagSet', tags) : '') +
    '</item>'
  );
}
