// A local stand-in for the マイナンバーカード platform (デジタル認証アプリ), for Machiba's tests only.
//
// It is the certified OpenID provider `oidc-provider` configured like the platform: authorization
// code flow with PKCE S256 required, private_key_jwt client authentication, the scopes
// openid name address birthdate gender sign, client credentials for the signing API, and a
// signing API (POST /api/sign-transactions, GET /api/sign-transactions/:id/result) whose
// signatures are made with test cards' keys issued by a test CA the pytest fixture generated.
// The CA's revocation list is served at /crl. Started by tests/identity/conftest.py; never run in
// production (nothing in Machiba knows about it but the settings the tests put in).
//
// Usage: node server.js CONFIG.json   (prints "ready <port>" once listening)

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';

import * as oidc from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const SIGN_API = `${config.issuer}/api`;
// SHA-256 DigestInfo prefix (RFC 8017 9.2): the card signs DigestInfo || digest, PKCS#1 v1.5.
const DIGEST_INFO_SHA256 = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const transactions = new Map();

const provider = new oidc.Provider(config.issuer, {
  clients: [
    {
      client_id: config.client.client_id,
      redirect_uris: config.client.redirect_uris,
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: config.client.jwks,
    },
  ],
  scopes: ['openid', 'name', 'address', 'birthdate', 'gender', 'sign'],
  claims: {
    name: ['name'],
    address: ['address'],
    birthdate: ['birthdate'],
    gender: ['gender'],
    sign: [],
  },
  extraParams: ['sign_transaction_id'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx) {
        return ctx.oidc.params?.grant_type === 'client_credentials' ? SIGN_API : undefined;
      },
      async getResourceServerInfo(ctx, resource) {
        if (resource !== SIGN_API) throw new oidc.errors.InvalidTarget();
        return { scope: 'sign', audience: SIGN_API, accessTokenFormat: 'opaque', accessTokenTTL: 300 };
      },
      async useGrantedResource() {
        return false;
      },
    },
  },
  async findAccount(ctx, id) {
    const card = config.cards[id];
    if (!card) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...card.claims }; } };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: { AccessToken: 600, AuthorizationCode: 120, Interaction: 600, Session: 600, Grant: 600 },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html lang="ja"><body><h1>エラー</h1><pre>${escape(JSON.stringify(out))}</pre></body></html>`;
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function bearer(ctx) {
  const header = ctx.get('authorization') || '';
  return header.startsWith('Bearer ') ? header.slice(7) : '';
}

function signDigest(card, digest) {
  const signature = crypto.privateEncrypt(
    { key: card.key_pem, padding: crypto.constants.RSA_PKCS1_PADDING },
    Buffer.concat([DIGEST_INFO_SHA256, digest]),
  );
  if (card.tamper) signature[signature.length - 1] ^= 0x01;
  return signature;
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><p>テスト用の認証サーバ（デジタル認証アプリの代わり）</p><h1>${escape(title)}</h1>${body}</body></html>`;
}

provider.use(async (ctx, next) => {
  const { path, method } = ctx;

  if (path === '/crl' && method === 'GET') {
    ctx.type = 'application/pkix-crl';
    ctx.body = readFileSync(config.crl_file);
    return undefined;
  }

  if (path === `/api/sign-transactions` && method === 'POST') {
    const token = await provider.ClientCredentials.find(bearer(ctx));
    if (!token || token.clientId !== config.client.client_id || !token.scope?.split(' ').includes('sign')) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return undefined;
    }
    const body = JSON.parse(await readBody(ctx));
    const digest = Buffer.from(body.hashes?.[0] || '', 'base64');
    if (body.hash_algorithm !== 'SHA-256' || digest.length !== 32) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request' };
      return undefined;
    }
    const id = crypto.randomUUID();
    transactions.set(id, { digest, clientId: token.clientId });
    ctx.body = { sign_transaction_id: id };
    return undefined;
  }

  const result = path.match(/^\/api\/sign-transactions\/([^/]+)\/result$/);
  if (result && method === 'GET') {
    const token = await provider.AccessToken.find(bearer(ctx));
    const tx = transactions.get(result[1]);
    if (!token || !tx || !tx.signature || tx.accountId !== token.accountId
        || !token.scope?.split(' ').includes('sign')) {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return undefined;
    }
    ctx.body = { signatures: [tx.signature.toString('base64')], certificate: tx.certificate };
    return undefined;
  }

  const interaction = path.match(/^\/interaction\/([^/]+)$/);
  if (interaction) {
    ctx.set('cache-control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params } = details;
    const txId = params.sign_transaction_id;

    if (prompt.name === 'consent') {
      // The resident agreed on the card-reading screen; record the grant and go on.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      if (prompt.details.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }

    if (method === 'GET') {
      const tx = txId ? transactions.get(txId) : undefined;
      ctx.type = 'html';
      ctx.body = page(
        tx ? 'マイナンバーカードで署名' : 'マイナンバーカードでログイン',
        `${tx ? `<p>署名するハッシュ（SHA-256）: <code id="digest">${tx.digest.toString('hex')}</code></p>` : ''}
<form method="post" autocomplete="off">
<label for="card">読み取るカード</label> <input id="card" name="card" required>
<label for="pin">暗証番号</label> <input id="pin" name="pin" type="password">
<button type="submit">${tx ? '署名する' : '読み取る'}</button>
<button type="submit" name="cancel" value="1">やめる</button>
</form>`,
      );
      return undefined;
    }

    const form = new URLSearchParams(await readBody(ctx));
    if (form.get('cancel')) {
      return provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied', error_description: 'the resident cancelled',
      }, { mergeWithLastSubmission: false });
    }
    const cardId = form.get('card') || '';
    const card = config.cards[cardId];
    if (!card) {
      ctx.type = 'html';
      ctx.status = 400;
      ctx.body = page('カードを読み取れませんでした', '<p id="error">そのカードはありません。</p>');
      return undefined;
    }
    if (txId) {
      const tx = transactions.get(txId);
      if (!tx) {
        ctx.status = 400;
        ctx.body = page('署名できません', '<p id="error">署名トランザクションがありません。</p>');
        return undefined;
      }
      tx.signature = signDigest(card, tx.digest);
      tx.certificate = card.certificate_pem;
      tx.accountId = cardId;
    }
    return provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: cardId, acr: 'urn:jpki:card', amr: ['hwk', 'pin'] },
    }, { mergeWithLastSubmission: false });
  }

  return next();
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${config.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
