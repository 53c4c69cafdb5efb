/**
 * AsyncActor `.status`: the original's fields (docs/controller.md, "Status"), written by the
 * controller and shown by the printer columns.
 */
import { z } from 'zod';

export const CONDITION_TYPES = ['TransportReady', 'WorkloadReady', 'ScalingReady'] as const;

const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
  observedGeneration: z.number().int().optional(),
});

const int = () => z.number().int();

export const asyncActorStatusSchema = z.object({
  conditions: z.array(condition).optional(),
  status: z.string().optional().describe('Creating, Running, Napping (scaled to zero), Degraded, TransportError, WorkloadError, …'),
  readyReplicas: int().optional(),
  totalReplicas: int().optional(),
  pendingReplicas: int().optional(),
  failingPods: int().optional(),
  readyReplicasSummary: z.string().optional(),
  readySummary: z.string().optional(),
  replicas: int().optional(),
  desiredReplicas: int().optional(),
  replicasSummary: z.string().optional(),
  lastScaleTime: z.string().optional(),
  lastScaleDirection: z.string().optional(),
  lastScaleFormatted: z.string().optional(),
  scalingMode: z.string().optional(),
  transportStatus: z.string().optional(),
  queuedMessages: int().optional(),
  processingMessages: int().optional(),
  workloadRef: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), namespace: z.string() }).optional(),
  scaledObjectRef: z.object({ name: z.string(), namespace: z.string() }).optional(),
  observedGeneration: int().optional(),
});

export type AsyncActorStatus = z.infer<typeof asyncActorStatusSchema>;
