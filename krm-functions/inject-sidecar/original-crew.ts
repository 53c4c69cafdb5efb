/**
 * AsyncActors written for the original's crew (image asya-crew, `ASYA_HANDLER=handlers.end_handlers.
 * happy_end_handler` or `error_end_handler`, a Python module that only exists in that image) keep working:
 * their runtime container runs our crew handler from the asya image instead, with every other setting
 * (the ASYA_S3_* variables, which our crew reads under the same names, resources, volumes) as written.
 * The AsyncActor itself is not rewritten, so each run warns again until the manifest is updated.
 */
import { RUNTIME_CONTAINER, type AsyncActor } from '../../api/index.ts';
import { ERROR_END, HAPPY_END } from '../../protocol/queues.ts';
import { RUNTIME_SETTINGS } from '../../runtime/settings.ts';
import { envName } from '../../settings/index.ts';

const HANDLER_ENV = envName(RUNTIME_SETTINGS, 'handler');

/** The original crew's handlers, and the crew role each one was. */
export const ORIGINAL_CREW_HANDLERS: Readonly<Record<string, string>> = {
  'handlers.end_handlers.happy_end_handler': HAPPY_END,
  'handlers.end_handlers.error_end_handler': ERROR_END,
};

/** Our crew's handler for a role, as the asya image serves it (charts-ts/crew-chart.ts uses the same). */
export const crewHandler = (role: string) => `/app/crew/${role}.ts#handle`;

export interface CrewTranslation {
  actor: AsyncActor;
  warning?: { message: string; path: string };
}

/** The actor as it runs: with our crew in place of the original's, when it names an original crew handler. */
export function translateOriginalCrew(actor: AsyncActor, image: string): CrewTranslation {
  const containers = actor.spec.workload.template.spec.containers;
  const index = containers.findIndex((c) => c.name === RUNTIME_CONTAINER);
  const runtime = containers[index];
  const env = (runtime?.env ?? []) as { name: string; value?: string }[];
  const handlerAt = env.findIndex((e) => e.name === HANDLER_ENV);
  const role = ORIGINAL_CREW_HANDLERS[env[handlerAt]?.value ?? ''];
  if (!runtime || role === undefined) return { actor };
  const original = env[handlerAt]!.value!;
  const replaced = { ...runtime, image, env: env.map((e, i) => (i === handlerAt ? { name: HANDLER_ENV, value: crewHandler(role) } : e)) };
  const translated = structuredClone(actor);
  translated.spec.workload.template.spec.containers[index] = replaced as (typeof containers)[number];
  return {
    actor: translated,
    warning: {
      message: `ASYA_HANDLER=${original} is the original crew's ${role} handler: running Asya's crew (${crewHandler(role)}) from ${image} instead of ${String(runtime.image)}; set them in the manifest to silence this`,
      path: `spec.workload.template.spec.containers.${index}.env.${handlerAt}.value`,
    },
  };
}
