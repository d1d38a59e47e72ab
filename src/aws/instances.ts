import { EC2Client, paginateDescribeInstances, type Instance } from '@aws-sdk/client-ec2';
import { awsFailure, clientConfig, type AwsClientOptions } from './client-config.js';

// EC2 instances behind a small interface: the inventory asks for instances by region and filters.

/** An EC2 API filter: `{ name: 'tag:Role', values: ['web'] }`; values of one filter are ORed. */
export interface InstanceFilter {
  name: string;
  values: string[];
}

/** What halyard needs to know about one instance. */
export interface Ec2Instance {
  id: string;
  region: string;
  state: string;
  type: string | undefined;
  availabilityZone: string | undefined;
  privateIp: string | undefined;
  publicIp: string | undefined;
  privateDns: string | undefined;
  publicDns: string | undefined;
  vpcId: string | undefined;
  tags: Record<string, string>;
}

export interface ListInstancesRequest {
  region: string;
  filters: InstanceFilter[];
  /** MaxResults per DescribeInstances page (5-1000); every page is read. */
  pageSize?: number;
}

export interface InstanceSource {
  listInstances(request: ListInstancesRequest): Promise<Ec2Instance[]>;
}

/** Default page size: EC2's largest. */
export const DEFAULT_PAGE_SIZE = 1000;

// The SDK implementation: one client per region, DescribeInstances pages followed to the end.
export function sdkInstanceSource(options: Omit<AwsClientOptions, 'region'> = {}): InstanceSource {
  const clients = new Map<string, EC2Client>();
  const clientFor = (region: string): EC2Client => {
    let client = clients.get(region);
    if (!client) {
      client = new EC2Client(clientConfig({ ...options, region }));
      clients.set(region, client);
    }
    return client;
  };
  return {
    async listInstances({ region, filters, pageSize }) {
      const client = clientFor(region);
      const instances: Ec2Instance[] = [];
      try {
        const pages = paginateDescribeInstances(
          { client, pageSize: pageSize ?? DEFAULT_PAGE_SIZE },
          { Filters: filters.map((filter) => ({ Name: filter.name, Values: filter.values })) },
        );
        for await (const page of pages) {
          for (const reservation of page.Reservations ?? []) {
            for (const instance of reservation.Instances ?? []) instances.push(toInstance(instance, region));
          }
        }
      } catch (error) {
        throw awsFailure(`EC2 DescribeInstances in ${region}`, error, 'E_AWS_EC2');
      }
      return instances;
    },
  };
}

function toInstance(instance: Instance, region: string): Ec2Instance {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  }
  return {
    id: instance.InstanceId ?? '',
    region,
    state: instance.State?.Name ?? 'unknown',
    type: instance.InstanceType,
    availabilityZone: instance.Placement?.AvailabilityZone,
    privateIp: nonEmpty(instance.PrivateIpAddress),
    publicIp: nonEmpty(instance.PublicIpAddress),
    privateDns: nonEmpty(instance.PrivateDnsName),
    publicDns: nonEmpty(instance.PublicDnsName),
    vpcId: nonEmpty(instance.VpcId),
    tags,
  };
}

// EC2 writes an empty <dnsName/> for instances without one.
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
