/** The gateway's public face: run it (`startGateway`), or build its pieces for embedding and tests. */
export { createGatewayApp } from './app.ts';
export { GatewayConfigError, loadGatewayConfig, type GatewayConfig } from './config.ts';
export type { AppOptions, GatewayDeps } from './deps.ts';
export { GatewayMetrics } from './metrics.ts';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './server.ts';
export { connectStore } from './store-connector.ts';
export { startSweeper, type Sweeper } from './sweeper.ts';
export { loadTools, ToolConfigError, ToolSet, type Tool } from './tools/index.ts';
