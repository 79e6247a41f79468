// node-oidc-provider as bench/authz_vs_oidc_provider.sh runs it: one worker per
// core under node:cluster, the default in-memory adapter, client_credentials
// issuing RS256 JWT access tokens (resource indicators, one resource server
// whose accessTokenFormat is 'jwt'), introspection on.
//
//   node oidc_provider_server.mjs PORT CLIENT_ID CLIENT_SECRET WORKERS TOKEN_FILE
//
// The primary generates one RSA 2048 signing key and hands it, with the
// client registration, to every worker, so all of them sign with the same key
// and know the same client. It writes TOKEN_FILE once every worker listens
// (the script waits for it).
//
// Introspection: oidc-provider cannot introspect its JWT access tokens. It
// does not store them (lib/models/formats/jwt.js hands no payload to the
// adapter), so its introspection endpoint answers {"active": false} for one
// (9.x refuses it with 400 unsupported_token_type). Only opaque tokens, which
// live in the adapter, can be introspected. The in-memory adapter is a Map
// inside each process, and a keep-alive connection stays on the worker the
// primary handed it to, so a token issued by worker A is unknown (active:
// false) on worker B; a real multi-process deployment needs a shared adapter
// (Redis). Here the primary draws one opaque token value and every worker
// stores the same ClientCredentials token under it at start, through the
// provider's own model: what a shared adapter would give them, with the
// look-up a local Map read instead of a network round trip. TOKEN_FILE holds
// that token.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const [port, clientId, clientSecret, workersArg, tokenFile] = process.argv.slice(2);
const RESOURCE = 'urn:ucedge:bench';
const TOKEN_TTL = 3600;

if (cluster.isPrimary) {
  if (!tokenFile) {
    console.error('usage: node oidc_provider_server.mjs PORT CLIENT_ID CLIENT_SECRET WORKERS TOKEN_FILE');
    process.exit(2);
  }
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };
  // 256 random bits, base64url: the shape of an opaque token oidc-provider issues itself.
  const introspectToken = crypto.randomBytes(32).toString('base64url');
  const shared = JSON.stringify({ jwk, introspectToken, cookieKey: crypto.randomBytes(32).toString('hex') });

  const workers = Math.max(1, Number(workersArg) || 1);
  let listening = 0;
  let stopping = false;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork({ BENCH_SHARED: shared }).on('listening', () => {
      listening += 1;
      if (listening === workers) fs.writeFileSync(tokenFile, `${introspectToken}\n`);
    });
  }
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal || code})`);
    process.exit(1);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { default: Provider } = await import('oidc-provider');
  const { jwk, introspectToken, cookieKey } = JSON.parse(process.env.BENCH_SHARED);

  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [cookieKey] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // The same request body as ucedge's (no resource parameter) gets the JWT resource server.
        defaultResource: async (ctx, client, oneOf) => oneOf || RESOURCE,
        getResourceServerInfo: async () => ({
          scope: 'api',
          audience: RESOURCE,
          accessTokenTTL: TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: {
      AccessToken: TOKEN_TTL,
      ClientCredentials: TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: TOKEN_TTL,
      Grant: TOKEN_TTL,
      Interaction: 600,
      Session: TOKEN_TTL,
      RefreshToken: 86400,
    },
    clientBasedCORS: () => false,
  });
  // 500s, in its log; the wrk scripts count every answer that is not a 200 anyway.
  provider.on('server_error', (ctx, err) => console.error('server_error', err));

  // The introspection token, stored in this worker's adapter (see the top of the file).
  const client = await provider.Client.find(clientId);
  const token = new provider.ClientCredentials({ client, jti: introspectToken, scope: 'api' });
  // The grant sets the format when it draws the token id; the id is given here, so set it too.
  token.format = 'opaque';
  const value = await token.save();
  if (value !== introspectToken) throw new Error('the seeded token did not keep its value');

  const server = http.createServer(provider.callback());
  server.keepAliveTimeout = 65_000;
  server.listen(Number(port), '127.0.0.1');
}
