/**
 * The public surface of `asya/cdk8s` (package.json `exports`): the AsyncActor construct for users' own cdk8s
 * apps and the platform charts `asya synth` writes. Compiled to dist/lib by `make lib`; package.test.ts pins
 * the names, so the surface changes only on purpose.
 */
export { AsyncActor, AsyncActorSynthError, asyncActorResource, renderAsyncActor } from './async-actor.ts';
export type { AsyncActorProps, AsyncActorSpecInput } from './async-actor.ts';
export { CHART_IDS, addPlatformCharts, appObjects, platformApps } from './platform.ts';
export type { ClusterApp } from './platform.ts';
export { PATTERNS, PlatformOptionsError, resolveOptions } from './options.ts';
export type { Pattern, PlatformOptions, PlatformSettings, ResolvedOptions, SecretKey } from './options.ts';
export { CrdChart } from './crd-chart.ts';
export { NamespaceChart } from './namespace-chart.ts';
export { ControllerChart } from './controller-chart.ts';
export { GatewayChart } from './gateway-chart.ts';
export { CrewChart } from './crew-chart.ts';
export { MonitoringChart } from './monitoring-chart.ts';
export { TrialPostgresChart, TrialRabbitMqChart } from './trial-chart.ts';
