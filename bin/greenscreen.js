#!/usr/bin/env node
// The CLI is TypeScript run through tsx (a production dependency): no build step to forget.
import { register } from 'tsx/esm/api';

// The SDK's notice about Node < 22 is for us (the maintainers), not for CLI users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
