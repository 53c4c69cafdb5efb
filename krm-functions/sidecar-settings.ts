/**
 * The sidecar settings an AsyncActor's spec decides, in one place: the injected pod (inject-sidecar, and so
 * the controller) and `asya dev` both take them from here, so an actor behaves the same on a laptop and in
 * the cluster. What the platform decides (broker connection, gateway, socket dir, metrics, log level) and
 * what the workload shape decides (a Job's idle exit) stay with whoever builds the pod or the dev stack.
 */
import type { AsyncActor } from '../api/index.ts';
import { ERROR_END, HAPPY_END, isEndActor, type EndActors } from '../protocol/index.ts';
import { fromEnv, pickSettings, readSettings, toEnv, type Settings, type SettingsTable } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from '../sidecar/settings.ts';
import type { EnvVar } from './transport-env.ts';

/** In groups, because the pod lists the platform's transport env between them, in the original operator's order. */
export interface SidecarSettings {
  /** Who the actor is and how long one call may take: ASYA_ACTOR_NAME, the end actors, ASYA_RUNTIME_TIMEOUT. */
  actor: EnvVar[];
  /** How its failures are retried: ASYA_RETRY_POLICY (spec.retry) for error-end. */
  policy: EnvVar[];
  /** spec.sidecar.env as written; it comes last so that it overrides anything set before it. */
  own: EnvVar[];
}

/**
 * spec.timeout.processing as ASYA_RUNTIME_TIMEOUT. 0 means "no limit given" in the original's CRD, so it
 * and an absent timeout leave the variable unset and the sidecar uses its default; never `0s`, which the
 * sidecar would read as "time out at once".
 */
function runtimeTimeout(actor: AsyncActor): Pick<Settings<typeof SIDECAR_SETTINGS>, 'runtimeTimeoutMs'> | undefined {
  const seconds = actor.spec.timeout?.processing ?? 0;
  return seconds > 0 ? { runtimeTimeoutMs: seconds * 1000 } : undefined;
}

/** `ends`: the platform's end actors are the defaults; `asya dev` takes renames from its env. */
export function sidecarSettings(actor: AsyncActor, ends: EndActors = { happyEnd: HAPPY_END, errorEnd: ERROR_END }): SidecarSettings {
  const name = actor.metadata.name;
  return {
    actor: toEnv(SIDECAR_SETTINGS, {
      actorName: name,
      happyEnd: ends.happyEnd,
      errorEnd: ends.errorEnd,
      ...(isEndActor(name, ends) ? { isEndActor: true } : {}),
      ...runtimeTimeout(actor),
    }),
    policy: toEnv(SIDECAR_SETTINGS, { retryPolicy: actor.spec.retry }),
    own: actor.spec.sidecar?.env ?? [],
  };
}

/**
 * The settings as the sidecar reads them (later entries win, as in a pod); variables taken from a Secret or
 * ConfigMap (valueFrom) have no value here and are listed apart, for the caller to resolve or report.
 */
export function sidecarSettingsEnv(actor: AsyncActor, ends?: EndActors): { env: Record<string, string>; unresolved: string[] } {
  const { actor: identity, policy, own } = sidecarSettings(actor, ends);
  const env: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const e of [...identity, ...policy, ...own]) {
    if (e.value !== undefined) env[e.name] = e.value;
    else unresolved.push(e.name);
  }
  return { env, unresolved };
}

/**
 * How long the actor's sidecar lets one call run, by the same rule the sidecar applies to the settings above
 * (spec.sidecar.env included): the controller declares the actor's queue with it, as the sidecar does.
 */
export function runtimeTimeoutMs(actor: AsyncActor): number {
  return fromEnv(RUNTIME_TIMEOUT_ONLY, sidecarSettingsEnv(actor).env).runtimeTimeoutMs;
}

const RUNTIME_TIMEOUT_ONLY = pickSettings(SIDECAR_SETTINGS, ['runtimeTimeoutMs']);

/** A problem of one spec.sidecar.env entry, as the sidecar would report it at startup. */
export interface SidecarEnvProblem {
  severity: 'error' | 'warning';
  message: string;
  /** The entry's field path in the AsyncActor. */
  path: string;
}

type SidecarKey = keyof typeof SIDECAR_SETTINGS.settings & string;

/**
 * spec.sidecar.env read by the sidecar's own table before any pod exists: a value the sidecar would refuse
 * at startup is refused here, with the sidecar's message, instead of a pod that crash-loops; one it would
 * read with a warning is warned about. Each setting is read from the whole environment the pod would have
 * (so an entry a later one overrides is not blamed), and the problem points at the entry that causes it.
 * Values from a Secret or ConfigMap, and files (`_FILE`), exist only in the pod and are left to the sidecar.
 */
export function sidecarEnvProblems(actor: AsyncActor): SidecarEnvProblem[] {
  const own = actor.spec.sidecar?.env ?? [];
  if (own.length === 0) return [];
  const { env, unresolved } = sidecarSettingsEnv(actor);
  for (const name of Object.keys(env)) if (unresolved.includes(name) || name.endsWith('_FILE')) delete env[name];
  const problems: SidecarEnvProblem[] = [];
  const blame = (names: readonly string[], table: SettingsTable) => {
    const index = own.map((e) => names.includes(e.name) && e.value !== undefined).lastIndexOf(true);
    if (index < 0) return;
    const { errors, warnings } = readSettings(table, env);
    const path = `spec.sidecar.env[${index}].value`;
    problems.push(...errors.map((message) => ({ severity: 'error' as const, message, path })), ...warnings.map((message) => ({ severity: 'warning' as const, message, path })));
  };
  for (const [key, setting] of Object.entries(SIDECAR_SETTINGS.settings)) {
    blame([setting.options.env, ...(setting.options.aliases ?? [])], pickSettings(SIDECAR_SETTINGS, [key as SidecarKey]));
  }
  for (const retired of SIDECAR_SETTINGS.retired) blame([retired.env], { component: SIDECAR_SETTINGS.component, settings: {}, retired: [retired] });
  return problems;
}
