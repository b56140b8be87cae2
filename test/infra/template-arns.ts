/**
 * Turns the CloudFormation intrinsics of a synthesized template into the ARNs and names a
 * deployment would have, so an IAM simulator can evaluate its policies offline. Physical names are
 * the resource's own name property where it sets one, else its logical id (what matters is that a
 * policy and a request that name the same resource resolve to the same string).
 */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

type Json = unknown;
interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Greenscreen',
};

/** The name property each type takes its physical name from, when the template sets it. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SecretsManager::Secret': 'Name',
};

export class TemplateArns {
  private readonly resources: Record<string, CfnResource>;

  constructor(template: Record<string, Json>) {
    this.resources = template.Resources as Record<string, CfnResource>;
  }

  private resource(logicalId: string): CfnResource {
    const r = this.resources[logicalId];
    if (!r) throw new Error(`Expected a resource ${logicalId} in the template but there is none`);
    return r;
  }

  name(logicalId: string): string {
    const r = this.resource(logicalId);
    const prop = NAME_PROPERTY[r.Type];
    const given = prop ? r.Properties?.[prop] : undefined;
    if (given !== undefined) return String(this.resolve(given));
    // Bucket names are lower case.
    return r.Type === 'AWS::S3::Bucket' ? logicalId.toLowerCase() : logicalId;
  }

  arn(logicalId: string): string {
    const r = this.resource(logicalId);
    const name = this.name(logicalId);
    switch (r.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}:*`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
      default:
        throw new Error(`Expected a resource type this resolver knows but ${logicalId} is ${r.Type}`);
    }
  }

  /** What { Ref } gives for each type. */
  ref(logicalId: string): string {
    if (PSEUDO[logicalId]) return PSEUDO[logicalId]!;
    const r = this.resource(logicalId);
    switch (r.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(logicalId)}`;
      case 'AWS::SecretsManager::Secret':
        return this.arn(logicalId);
      default:
        return this.name(logicalId);
    }
  }

  /** Any template value with Ref, Fn::GetAtt (Arn), Fn::Join and Fn::Sub resolved. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = obj[k];
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        if (attribute !== 'Arn') throw new Error(`Expected Fn::GetAtt ${id}.Arn but received .${attribute}`);
        return this.arn(id);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, Json[]];
        return parts.map((p) => String(this.resolve(p))).join(sep);
      }
      if (k === 'Fn::Sub') {
        if (typeof arg !== 'string') throw new Error('Expected Fn::Sub with a plain string');
        return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => String(this.ref(name)));
      }
      if (k.startsWith('Fn::')) throw new Error(`Expected an intrinsic this resolver knows but received ${k}`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }
}
