// The signal helpers every etcdkit package shares.
export { abortError, linkSignals, sleep } from '@etcdkit/core/internal';
