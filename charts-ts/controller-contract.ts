/**
 * How the controller chart talks to `asya controller`: the port and paths of controller/controller.ts, in one
 * place so the two sides can be lined up by reading one file. The env names are the controller's settings
 * table (controller/settings.ts), which the chart writes with toEnv.
 */
export const CONTROLLER_PORT = 8080;
export const CONTROLLER_LIVENESS_PATH = '/healthz';
export const CONTROLLER_READINESS_PATH = '/readyz';
export const PLATFORM_CONFIG_DIR = '/etc/asya/platform';
export const PLATFORM_CONFIG_FILE = 'platform.yaml';
