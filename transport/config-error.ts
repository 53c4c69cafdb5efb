/** The error a transport's settings raise: the factory's callers catch this one type. */
export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
}
