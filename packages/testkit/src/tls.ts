import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestkitError } from './errors.js';

/** Client-side TLS material for a test server, as files and as buffers. */
export interface ClientTls {
  /** PEM of the CA that issued the server and client certificates. */
  ca: Buffer;
  /** PEM client certificate and PKCS#8 key (CN = `clientCommonName`, default "etcdkit-client"). */
  cert: Buffer;
  /** PEM key of the client certificate. */
  key: Buffer;
  /** `ca` as a file, e.g. for etcdctl's `--cacert`. */
  caFile: string;
  /** `cert` as a file. */
  certFile: string;
  /** `key` as a file. */
  keyFile: string;
  /** A name the server certificate is valid for (it also covers IP 127.0.0.1). */
  serverName: string;
  /** An unrelated CA: trusting only this one must fail server verification. */
  otherCa: Buffer;
  /** `otherCa` as a file. */
  otherCaFile: string;
  /** A client certificate issued by `otherCa`: a server with client-cert auth must reject it. */
  otherCert: Buffer;
  /** PEM key of `otherCert`. */
  otherKey: Buffer;
  /** `otherCert` as a file. */
  otherCertFile: string;
  /** `otherKey` as a file. */
  otherKeyFile: string;
}

/** Everything generated: the client side plus the server's files. */
export interface TlsBundle {
  /** The client side: CA, client certificate and key. */
  client: ClientTls;
  /** The CA certificate file, for the server's `--trusted-ca-file`. */
  caFile: string;
  /** The server certificate file (`--cert-file`). */
  serverCertFile: string;
  /** The server key file (`--key-file`). */
  serverKeyFile: string;
}

/** Options of {@link createTlsBundle}. */
export interface TlsBundleOptions {
  /** Client certificate CN; with etcd auth on and client-cert auth, this is the user name. */
  clientCommonName?: string;
  /** Certificate lifetime in days (default 7). */
  days?: number;
}

const EXTENSIONS = `
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.env.OPENSSL_BIN ?? 'openssl', args, { timeout: 15_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new TestkitError(
          missing
            ? 'TLS test certificates need the openssl CLI (apt-get install -y openssl, or set OPENSSL_BIN)'
            : `openssl ${args[0]} failed: ${stderr.trim() || error.message}`,
        ),
      );
    });
  });
}

// node:crypto makes the keys (RSA would be slow); openssl signs, as node cannot issue certificates.
async function newKey(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

const serial = (): string => `0x${randomBytes(8).toString('hex')}`;

interface Issued {
  certFile: string;
  keyFile: string;
}

async function makeCa(dir: string, name: string, days: number, extFile: string): Promise<Issued> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const csr = join(dir, `${name}.csr`);
  await newKey(keyFile);
  await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=etcdkit test ${name}`, '-out', csr]);
  // biome-ignore format: one command line
  await openssl([
    'x509', '-req', '-in', csr, '-signkey', keyFile, '-days', String(days), '-sha256',
    '-set_serial', serial(), '-extfile', extFile, '-extensions', 'ca_ext', '-out', certFile,
  ]);
  return { certFile, keyFile };
}

async function issue(
  dir: string,
  name: string,
  commonName: string,
  ext: 'server_ext' | 'client_ext',
  ca: Issued,
  days: number,
  extFile: string,
): Promise<Issued> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const csr = join(dir, `${name}.csr`);
  await newKey(keyFile);
  await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${commonName}`, '-out', csr]);
  // biome-ignore format: one command line
  await openssl([
    'x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', String(days), '-sha256',
    '-set_serial', serial(), '-extfile', extFile, '-extensions', ext, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/**
 * Generates into `dir`: a CA, a server certificate for 127.0.0.1/::1/localhost, a client
 * certificate, and an unrelated CA with its own client certificate for negative tests.
 */
export async function createTlsBundle(dir: string, options: TlsBundleOptions = {}): Promise<TlsBundle> {
  const days = options.days ?? 7;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const extFile = join(dir, 'extensions.cnf');
  await writeFile(extFile, EXTENSIONS);
  const [ca, otherCa] = await Promise.all([
    makeCa(dir, 'ca', days, extFile),
    makeCa(dir, 'other-ca', days, extFile),
  ]);
  const [server, client, otherClient] = await Promise.all([
    issue(dir, 'server', 'localhost', 'server_ext', ca, days, extFile),
    issue(dir, 'client', options.clientCommonName ?? 'etcdkit-client', 'client_ext', ca, days, extFile),
    issue(dir, 'other-client', 'etcdkit-other-client', 'client_ext', otherCa, days, extFile),
  ]);
  const [caPem, certPem, keyPem, otherCaPem, otherCertPem, otherKeyPem] = await Promise.all(
    [
      ca.certFile,
      client.certFile,
      client.keyFile,
      otherCa.certFile,
      otherClient.certFile,
      otherClient.keyFile,
    ].map((f) => readFile(f)),
  );
  return {
    client: {
      ca: caPem!,
      cert: certPem!,
      key: keyPem!,
      caFile: ca.certFile,
      certFile: client.certFile,
      keyFile: client.keyFile,
      serverName: 'localhost',
      otherCa: otherCaPem!,
      otherCaFile: otherCa.certFile,
      otherCert: otherCertPem!,
      otherKey: otherKeyPem!,
      otherCertFile: otherClient.certFile,
      otherKeyFile: otherClient.keyFile,
    },
    caFile: ca.certFile,
    serverCertFile: server.certFile,
    serverKeyFile: server.keyFile,
  };
}
