/**
 * The embedded emulator in a process of its own, as `greenscreen dev` runs beside the CLI: prints
 * one JSON line with the endpoint and the provisioned resources, and exits when stdin closes.
 *
 *   node --import tsx bench/emulator-child.ts
 */
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { startEmulator } from '#local/emulator';
import { provisionResources } from '#local/provision';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const emulator = await startEmulator();
const conn = { region: 'us-east-1', endpoint: emulator.endpoint };
const s3 = createS3Client(conn);
const sqs = createSqsClient(conn);
const resources = await provisionResources(s3, sqs);
s3.destroy();
sqs.destroy();
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint, resources })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void emulator.stop().then(() => process.exit(0)));
