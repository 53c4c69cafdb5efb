/** The shared NATS JetStream server the tests use (test/services.sh starts it). */
export const NATS_URL = process.env.ASYA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
