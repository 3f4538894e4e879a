// TLS and authentication: talk to an etcd that serves HTTPS and checks user names and passwords.
//
//   ETCD_ENDPOINTS=https://10.0.0.1:2379 ETCD_CA=ca.pem ETCD_USER=app ETCD_PASSWORD=... \
//     [ETCD_CERT=client.pem ETCD_KEY=client-key.pem] node examples/dist/tls-auth.js
//
// ETCD_CA verifies the server; ETCD_CERT/ETCD_KEY are only needed when etcd asks for client
// certificates (--client-cert-auth). The same settings as etcdctl's --cacert, --cert, --key, --user.
import { readFileSync } from 'node:fs';
import { AuthFailedError, Etcd, type TlsOptions } from '@etcdkit/core';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (see the comment at the top of this file)`);
  return value;
}

const tls: TlsOptions = { ca: readFileSync(setting('ETCD_CA')) };
if (process.env.ETCD_CERT) tls.cert = readFileSync(process.env.ETCD_CERT);
if (process.env.ETCD_KEY) tls.key = readFileSync(process.env.ETCD_KEY);
const username = setting('ETCD_USER');

await using etcd = new Etcd({ tls, auth: { username, password: setting('ETCD_PASSWORD') } });
await etcd.put('/examples/tls/greeting', `hello from ${username}, over TLS`);
console.log(`read back: ${(await etcd.get('/examples/tls/greeting'))?.value}`);

// A wrong password is refused with a typed error that says so.
await using intruder = new Etcd({ tls, auth: { username, password: 'not the password' } });
try {
  await intruder.get('/examples/tls/greeting');
  console.log('wrong password accepted?!');
} catch (err) {
  if (!(err instanceof AuthFailedError)) throw err;
  console.log(`wrong password refused: ${err.code}`);
}
