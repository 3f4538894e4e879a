/** Every testkit failure derives from this, so callers can tell setup problems from test failures. */
export class TestkitError extends Error {
  /** The class name, for messages and logs. */
  override name = 'TestkitError';
}

/** Neither an etcd binary, ETCD_ENDPOINTS nor a Docker engine was found. */
export class EtcdNotFoundError extends TestkitError {
  /** The class name, for messages and logs. */
  override name = 'EtcdNotFoundError';
  /** `detail`: where etcd was looked for. The message lists the ways to get one. */
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
  /** The class name, for messages and logs. */
  override name = 'EtcdStartError';
  /** `log`: etcd's last output lines, appended to the message. */
  constructor(
    message: string,
    /** etcd's last output lines (empty when it printed nothing). */
    readonly log: string,
  ) {
    super(log ? `${message}\n--- last etcd output ---\n${log}` : message);
  }
}

/** A port picked as free was taken before etcd could bind it; startup retries on new ports. */
export class PortInUseError extends EtcdStartError {
  /** The class name, for messages and logs. */
  override name = 'PortInUseError';
}

/** The operation needs a process we own, but this server came from ETCD_ENDPOINTS (or a container). */
export class UncontrollableServerError extends TestkitError {
  /** The class name, for messages and logs. */
  override name = 'UncontrollableServerError';
}
