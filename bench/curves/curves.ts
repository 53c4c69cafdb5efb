/** Every curve of bench/curves, in the order they run. */
import type { Curve } from './curve.ts';
import { devActorsCurve } from './dev-actors.ts';
import { fanOutCurve } from './fan-out.ts';
import { payloadSizeCurve } from './payload-size.ts';
import { routeLengthCurve } from './route-length.ts';
import { sseSubscribersCurve } from './sse-subscribers.ts';

export const CURVES: readonly Curve[] = [payloadSizeCurve, routeLengthCurve, fanOutCurve, sseSubscribersCurve, devActorsCurve];
