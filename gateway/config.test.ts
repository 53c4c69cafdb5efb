import { describe, expect, it } from 'vitest';
import { checkSettings, GatewayConfigError, loadGatewayConfig, parseClientTokens, type Env } from './config.ts';

describe('gateway configuration from the environment', () => {
  it("uses the original's names and defaults", () => {
    expect(loadGatewayConfig({})).toEqual({
      port: 8080, host: '0.0.0.0', configPath: undefined, databaseUrl: undefined, databaseSchema: undefined,
      dbMaxConnections: 10, dbMaxLifetimeSeconds: 3600, dbIdleTimeoutSeconds: 1800, dataDir: undefined, autoMigrate: true,
      logLevel: 'INFO', logFormat: 'text', auth: 'token', apiToken: undefined, adminToken: undefined, clientTokens: {}, internalToken: undefined,
      maxBodyBytes: 10 * 1024 * 1024, bodyBudgetBytes: 32 * 1024 * 1024, corsOrigins: [],
      sseKeepAliveMs: 15_000, sweepIntervalMs: 1000, retentionMs: 168 * 3_600_000, cleanupIntervalMs: 3_600_000,
      taskPollIntervalMs: 1000, shutdownTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000, outboxIntervalMs: 1000, outboxLeaseMs: 30_000, pauseMaxMs: 7 * 24 * 3_600_000,
      payloadStore: undefined, payloadOffloadBytes: undefined, payloadS3Endpoint: undefined, payloadS3Region: 'us-east-1', payloadResolveBytes: 10 * 1024 * 1024,
      ui: true, traceUrl: undefined, prometheusUrl: undefined, prometheusSelector: undefined, prometheusMetricsNamespace: 'asya_actor',
    });
  });

  it('reads every variable', () => {
    const config = loadGatewayConfig({
      ASYA_GATEWAY_PORT: '9090', ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_CONFIG_PATH: '/etc/asya/tools', ASYA_DATABASE_URL: 'postgres://db/asya',
      ASYA_DATABASE_SCHEMA: 'gw', ASYA_DB_MAX_CONNS: '20', ASYA_DB_MAX_CONN_LIFETIME: '2h', ASYA_DB_MAX_CONN_IDLE_TIME: '90s',
      ASYA_GATEWAY_DATA_DIR: '/data', ASYA_GATEWAY_AUTO_MIGRATE: 'false', ASYA_LOG_LEVEL: 'warn', ASYA_GATEWAY_API_TOKEN: 'a',
      ASYA_GATEWAY_TOKEN: 'b', ASYA_GATEWAY_MAX_BODY_BYTES: '1024', ASYA_GATEWAY_CORS_ORIGINS: 'https://a.example, https://b.example',
      ASYA_GATEWAY_SSE_KEEPALIVE: '5s', ASYA_GATEWAY_SWEEP_INTERVAL: '250ms', ASYA_GATEWAY_RETENTION: '0',
      ASYA_GATEWAY_CLEANUP_INTERVAL: '10m', ASYA_GATEWAY_TASK_POLL_INTERVAL: '2s', ASYA_GATEWAY_SHUTDOWN_TIMEOUT: '30', ASYA_GATEWAY_KEEP_ALIVE_TIMEOUT: '90s',
      ASYA_GATEWAY_OUTBOX_INTERVAL: '500ms', ASYA_GATEWAY_OUTBOX_LEASE: '2m', ASYA_GATEWAY_PAUSE_MAX: '0', ASYA_GATEWAY_UI: 'false', ASYA_GATEWAY_TRACE_URL: 'http://jaeger:16686/trace/{trace_id}',
      ASYA_GATEWAY_PROMETHEUS_URL: 'http://prometheus:9090', ASYA_GATEWAY_PROMETHEUS_SELECTOR: 'namespace="ml"', ASYA_METRICS_NAMESPACE: 'ml_actor',
      ASYA_PAYLOAD_STORE: 's3://payloads/gw', ASYA_PAYLOAD_OFFLOAD_BYTES: '65536', ASYA_PAYLOAD_S3_ENDPOINT: 'http://minio:9000',
      ASYA_PAYLOAD_S3_REGION: 'eu-west-1', ASYA_PAYLOAD_RESOLVE_BYTES: '1048576',
      ASYA_GATEWAY_AUTH: 'None', ASYA_GATEWAY_ADMIN_TOKEN: 'c', ASYA_GATEWAY_CLIENT_TOKENS: 'alice:x:1, bob:y', ASYA_GATEWAY_BODY_BUDGET_BYTES: '4096',
    });
    expect(config).toEqual({
      port: 9090, host: '127.0.0.1', configPath: '/etc/asya/tools', databaseUrl: 'postgres://db/asya', databaseSchema: 'gw',
      dbMaxConnections: 20, dbMaxLifetimeSeconds: 7200, dbIdleTimeoutSeconds: 90, dataDir: '/data', autoMigrate: false,
      logLevel: 'WARNING', logFormat: 'text', auth: 'none', apiToken: 'a', adminToken: 'c', clientTokens: { alice: 'x:1', bob: 'y' }, internalToken: 'b',
      maxBodyBytes: 1024, bodyBudgetBytes: 4096, corsOrigins: ['https://a.example', 'https://b.example'],
      sseKeepAliveMs: 5000, sweepIntervalMs: 250, retentionMs: 0, cleanupIntervalMs: 600_000, taskPollIntervalMs: 2000, shutdownTimeoutMs: 30_000, keepAliveTimeoutMs: 90_000,
      outboxIntervalMs: 500, outboxLeaseMs: 120_000, pauseMaxMs: 0, ui: false, traceUrl: 'http://jaeger:16686/trace/{trace_id}',
      prometheusUrl: 'http://prometheus:9090', prometheusSelector: 'namespace="ml"', prometheusMetricsNamespace: 'ml_actor',
      payloadStore: 's3://payloads/gw', payloadOffloadBytes: 65536, payloadS3Endpoint: 'http://minio:9000', payloadS3Region: 'eu-west-1', payloadResolveBytes: 1_048_576,
    });
  });

  it.each([
    [{ ASYA_GATEWAY_PORT: 'eighty' }, 'ASYA_GATEWAY_PORT="eighty": expected an integer from 0 to 65535'],
    [{ ASYA_GATEWAY_PORT: '70000' }, 'ASYA_GATEWAY_PORT="70000": expected an integer from 0 to 65535'],
    [{ ASYA_DB_MAX_CONNS: '0' }, 'ASYA_DB_MAX_CONNS="0": expected an integer >= 1'],
    [{ ASYA_GATEWAY_RETENTION: '7d' }, 'Invalid ASYA_GATEWAY_RETENTION="7d"'],
    [{ ASYA_GATEWAY_AUTO_MIGRATE: 'maybe' }, 'ASYA_GATEWAY_AUTO_MIGRATE="maybe": expected true/false, 1/0, yes/no or on/off'],
    [{ ASYA_GATEWAY_OUTBOX_LEASE: '0s' }, 'ASYA_GATEWAY_OUTBOX_LEASE="0s": expected a duration above 0'],
    [{ ASYA_GATEWAY_OUTBOX_INTERVAL: '0' }, 'ASYA_GATEWAY_OUTBOX_INTERVAL="0": expected a duration above 0'],
    [{ ASYA_GATEWAY_PAUSE_MAX: 'a week' }, 'ASYA_GATEWAY_PAUSE_MAX="a week"'],
    [{ ASYA_GATEWAY_AUTH: 'off' }, 'ASYA_GATEWAY_AUTH="off": expected token or none'],
    [{ ASYA_GATEWAY_CLIENT_TOKENS: 'alice' }, 'ASYA_GATEWAY_CLIENT_TOKENS: expected name:token entries'],
    [{ ASYA_GATEWAY_CLIENT_TOKENS: 'a b:x' }, 'ASYA_GATEWAY_CLIENT_TOKENS: expected name:token entries'],
    [{ ASYA_GATEWAY_CLIENT_TOKENS: 'a:x,a:y' }, 'ASYA_GATEWAY_CLIENT_TOKENS: the name a is given twice'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadGatewayConfig(env)).toThrow(GatewayConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(message);
  });

  it('reports every wrong variable at once, and never echoes a token', () => {
    const env = { ASYA_GATEWAY_PORT: 'x', ASYA_DB_MAX_CONNS: '0', ASYA_GATEWAY_CLIENT_TOKENS: 'secret-without-name' };
    expect(() => loadGatewayConfig(env)).toThrow(/^3 settings are invalid: Invalid ASYA_GATEWAY_PORT="x": .*; Invalid ASYA_DB_MAX_CONNS="0": .*; Invalid ASYA_GATEWAY_CLIENT_TOKENS: expected name:token/);
    expect(() => loadGatewayConfig(env)).not.toThrow(/secret-without-name/);
  });

  it('treats empty values as unset, as the original did', () => {
    expect(loadGatewayConfig({ ASYA_GATEWAY_PORT: '', ASYA_DATABASE_URL: '  ' })).toMatchObject({ port: 8080, databaseUrl: undefined });
  });
});

describe('who may call: nobody gets in by default', () => {
  const check = (env: Env) => () => checkSettings(loadGatewayConfig(env));

  it.each([
    [{}, 'no tokens configured: set ASYA_GATEWAY_TOKEN'],
    [{ ASYA_GATEWAY_API_TOKEN: 'a' }, 'a client token is configured but ASYA_GATEWAY_TOKEN is not'],
    [{ ASYA_GATEWAY_CLIENT_TOKENS: 'alice:a' }, 'a client token is configured but ASYA_GATEWAY_TOKEN is not'],
    [{ ASYA_GATEWAY_TOKEN: 'b' }, 'ASYA_GATEWAY_TOKEN is configured but no client token is'],
    [{ ASYA_GATEWAY_AUTH: 'none', ASYA_GATEWAY_API_TOKEN: 'a' }, 'ASYA_GATEWAY_AUTH=none opens every endpoint, but tokens are configured too'],
    [{ ASYA_GATEWAY_API_TOKEN: 'same', ASYA_GATEWAY_TOKEN: 'same' }, 'two gateway tokens have the same value'],
    [{ ASYA_GATEWAY_AUTH: 'none', ASYA_GATEWAY_BODY_BUDGET_BYTES: '1000', ASYA_GATEWAY_MAX_BODY_BYTES: '2000' }, 'ASYA_GATEWAY_BODY_BUDGET_BYTES=1000 is below ASYA_GATEWAY_MAX_BODY_BYTES=2000'],
  ])('refuses %j and says why', (env, message) => {
    expect(check(env)).toThrow(GatewayConfigError);
    expect(check(env)).toThrow(message);
  });

  it.each([
    [{ ASYA_GATEWAY_AUTH: 'none' }],
    [{ ASYA_GATEWAY_API_TOKEN: 'a', ASYA_GATEWAY_TOKEN: 'b' }],
    [{ ASYA_GATEWAY_CLIENT_TOKENS: 'alice:a,bob:c', ASYA_GATEWAY_ADMIN_TOKEN: 'd', ASYA_GATEWAY_TOKEN: 'b' }],
  ])('accepts %j', (env) => {
    expect(check(env)).not.toThrow();
  });

  it('reads named tokens from commas or lines, a token may hold colons', () => {
    expect(parseClientTokens('alice:abc\nbob:x:y:z,\n')).toEqual({ alice: 'abc', bob: 'x:y:z' });
  });
});
