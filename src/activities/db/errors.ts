/** A named connection this worker cannot resolve (missing, malformed, unreadable TLS file): retrying cannot help. */
export class ConnectionNotConfiguredError extends Error {
  override name = 'ConnectionNotConfiguredError';
}
