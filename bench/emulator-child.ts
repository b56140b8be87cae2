/**
 * The embedded emulator in a process of its own, as `greenscreen dev` runs beside the CLI: prints
 * one JSON line with the endpoint and the provisioned resources, and exits when stdin closes.
 *
 *   node --import tsx bench/emulator-child.ts
 */
import { startProvisionedEmulator } from '#local/provision';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { endpoint, resources, stop } = await startProvisionedEmulator();
process.stdout.write(`${JSON.stringify({ endpoint, resources })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void stop().then(() => process.exit(0)));
