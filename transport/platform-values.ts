/** zod helpers for platform settings, which may arrive as ConfigMap strings ("5672", "true"). */
import { z } from 'zod';

export const configInt = () => z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int());
export const configBool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
export const secretKeyRef = z.object({ name: z.string().min(1), key: z.string().min(1) });
