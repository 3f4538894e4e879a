import { EtcdError } from '@etcdkit/core';

/** The registration was closed (or its client was): register again to come back. */
export class RegistrationClosedError extends EtcdError {
  declare readonly code: 'REGISTRATION_CLOSED';
  /** The key of the closed registration, `<service>/<id>`. */
  readonly key: string;
  /** `key`: the registration's key; the message says to call register() again. */
  constructor(key: string, options?: { cause?: unknown }) {
    super(
      'REGISTRATION_CLOSED',
      `the registration ${JSON.stringify(key)} is closed; call register() again to come back`,
      options,
    );
    this.key = key;
  }
}
