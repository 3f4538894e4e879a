/** Every testkit failure derives from this, so callers can tell setup problems from test failures. */
export class TestkitError extends Error {
  override name = 'TestkitError';
}

/** Neither an etcd binary, ETCD_ENDPOINTS nor a Docker engine was found. */
export class EtcdNotFoundError extends TestkitError {
  override name = 'EtcdNotFoundError';
  constructor(detail: string) {
    super(
      `etcd was not found (${detail}). To run the tests, do one of:\n` +
        '  - Debian/Ubuntu: apt-get install -y etcd-server etcd-client\n' +
        '  - macOS: brew install etcd\n' +
        '  - point ETCD_BIN (and ETCDCTL_BIN) at the binaries\n' +
        '  - run a Docker engine (testcontainers then starts quay.io/coreos/etcd)\n' +
        '  - set ETCD_ENDPOINTS=host:port[,host:port] to use a running etcd',
    );
  }
}

/** etcd exited or did not become healthy in time; `log` holds its last output lines. */
export class EtcdStartError extends TestkitError {
  override name = 'EtcdStartError';
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(log ? `${message}\n--- last etcd output ---\n${log}` : message);
  }
}

/** A port picked as free was taken before etcd could bind it; startup retries on new ports. */
export class PortInUseError extends EtcdStartError {
  override name = 'PortInUseError';
}

/** The operation needs a process we own, but this server came from ETCD_ENDPOINTS (or a container). */
export class UncontrollableServerError extends TestkitError {
  override name = 'UncontrollableServerError';
}
