/**
 * A TLS terminator on loopback (RTMPS → RTMP): `tls.createServer` piping each connection to a plain TCP
 * port. Certificates are made at runtime with the `openssl` CLI: a test CA, a leaf for localhost and
 * 127.0.0.1 signed by it, a leaf for another host name, and a self-signed leaf no one trusts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { makeTempDir, runCommand } from './process.js';

/** PEM files of the test PKI. */
export interface TestCertificates {
  /** Folder holding the PEM files. */
  dir: string;
  /** The test CA certificate: pass it as `ca` to trust `trusted` and `wrongHost`. */
  caPem: string;
  /** Leaf for CN/SAN localhost + IP 127.0.0.1, signed by the CA. */
  trusted: { certPem: string; keyPem: string };
  /** Leaf signed by the CA but for `wrong.invalid` only (hostname mismatch). */
  wrongHost: { certPem: string; keyPem: string };
  /** Self-signed leaf for localhost/127.0.0.1 that chains to no trusted CA. */
  untrusted: { certPem: string; keyPem: string };
}

/** Which certificate the proxy presents. */
export type CertificateKind = 'trusted' | 'wrongHost' | 'untrusted';

let cached: Promise<TestCertificates> | undefined;

async function openssl(args: string[], cwd: string): Promise<void> {
  const run = await runCommand('openssl', args, { cwd });
  if (run.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeLeaf(dir: string, name: string, subject: string, san: string): Promise<void> {
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      `${name}.pem`,
      '-days',
      '7',
      '-extfile',
      `${name}.ext`,
    ]),
    dir,
  );
}

/** Generates (once per process) the test CA and leaves with the openssl CLI. */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= (async () => {
    const dir = makeTempDir('pki');
    await openssl(
      ['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '7'].concat([
        '-subj',
        '/CN=steadycast test CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
      dir,
    );
    await makeLeaf(dir, 'trusted', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
    await makeLeaf(dir, 'wrong-host', '/CN=wrong.invalid', 'DNS:wrong.invalid');
    await openssl(
      ['req', '-x509', ...KEY, '-keyout', 'untrusted.key', '-out', 'untrusted.pem', '-days', '7'].concat([
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ]),
      dir,
    );
    const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
    return {
      dir,
      caPem: read('ca.pem'),
      trusted: { certPem: read('trusted.pem'), keyPem: read('trusted.key') },
      wrongHost: { certPem: read('wrong-host.pem'), keyPem: read('wrong-host.key') },
      untrusted: { certPem: read('untrusted.pem'), keyPem: read('untrusted.key') },
    };
  })();
  return cached;
}

/** Options of `startTlsProxy()`. */
export interface TlsProxyOptions {
  /** Plain-TCP port of the real server on 127.0.0.1. */
  targetPort: number;
  /** Port to listen on; default a free one. */
  listenPort?: number;
  /** Certificate presented at first; default 'trusted'. */
  certificate?: CertificateKind;
}

/** A running TLS terminator. */
export interface TlsProxy {
  /** Port the proxy listens on. */
  readonly port: number;
  /** The test PKI (trust `certificates.caPem`). */
  readonly certificates: TestCertificates;
  /** `rtmps://HOST:PROXYPORT/app/key`; host defaults to localhost (matches the trusted leaf). */
  url(app?: string, key?: string, host?: string): string;
  /** Presents another certificate to the next connections. */
  setCertificate(kind: CertificateKind): void;
  /** TLS handshakes completed so far. */
  handshakes(): number;
  /** TLS handshake failures so far (e.g. a client that rejected the certificate). */
  handshakeErrors(): string[];
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a TLS terminator on 127.0.0.1 that forwards decrypted bytes to `targetPort`. */
export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  const certificates = await testCertificates();
  const kind = options.certificate ?? 'trusted';
  const sockets = new Set<Socket>();
  let handshakes = 0;
  const errors: string[] = [];
  const server: Server = createServer(contextOptions(certificates, kind), (tlsSocket: TLSSocket) => {
    handshakes++;
    const upstream = connect(options.targetPort, '127.0.0.1');
    sockets.add(tlsSocket).add(upstream);
    tlsSocket.pipe(upstream).pipe(tlsSocket);
    const close = (): void => {
      tlsSocket.destroy();
      upstream.destroy();
      sockets.delete(tlsSocket);
      sockets.delete(upstream);
    };
    tlsSocket.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.on('tlsClientError', (error) => errors.push(error.message));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped: Promise<void> | undefined;
  return {
    port,
    certificates,
    url: (app = 'live', key = 'test', host = 'localhost') => `rtmps://${host}:${port}/${app}/${key}`,
    setCertificate: (next) => server.setSecureContext(contextOptions(certificates, next)),
    handshakes: () => handshakes,
    handshakeErrors: () => [...errors],
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

// A CA-signed leaf is served with the CA appended so clients that trust only the CA can verify it.
function contextOptions(
  certificates: TestCertificates,
  kind: CertificateKind,
): { key: string; cert: string } {
  const pair = certificates[kind];
  return { key: pair.keyPem, cert: kind === 'untrusted' ? pair.certPem : pair.certPem + certificates.caPem };
}
