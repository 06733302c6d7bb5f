/**
 * /v1/admin: API clients and token signing keys (scope mx/admin). The same operations as the `mxgate clients`
 * and `mxgate keys` commands. A client secret appears in an answer exactly once: when it is created or rotated.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AuthService, ClientInfo, KeyInfo } from '../../auth/service.js';
import { SCOPES } from '../../auth/scopes.js';
import { redactSettings } from '../../auth/attributes.js';

const ClientIdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

const CreateClientBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1, maxItems: SCOPES.length })),
    profile: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()], { description: "scheme profile: 'cbpr+', 'fednow' or null" })),
    settings: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'per-client settings: slaMs, webhook {url, secret}, bridge {amqp}, limits, messageLimits (checked when stored), and keys of your own checks' })),
  },
  { additionalProperties: false },
);

const UpdateClientBody = Type.Object(
  {
    name: Type.Optional(CreateClientBody.properties.name),
    scopes: Type.Optional(CreateClientBody.properties.scopes),
    profile: Type.Optional(CreateClientBody.properties.profile),
    settings: Type.Optional(CreateClientBody.properties.settings),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Client = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  profile: Type.Union([Type.String(), Type.Null()]),
  settings: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const ClientWithSecret = Type.Composite([Client, Type.Object({ client_secret: Type.String({ description: 'shown once' }) })]);

const Key = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  state: Type.Union([Type.Literal('current'), Type.Literal('previous')]),
  created_at: Type.String({ format: 'date-time' }),
  retire_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();

export function clientJson(c: ClientInfo): Static<typeof Client> {
  return {
    client_id: c.id,
    name: c.name,
    scopes: [...c.scopes],
    enabled: c.enabled,
    profile: c.profile,
    settings: redactSettings(c.settings),
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

function keyJson(k: KeyInfo): Static<typeof Key> {
  return { kid: k.kid, alg: k.alg, state: k.state, created_at: iso(k.createdAt), retire_at: k.retireAt === null ? null : iso(k.retireAt) };
}

const admin = { scope: 'mx/admin' } as const;
const tags = ['admin'];

export const adminRoutes: FastifyPluginAsync<{ auth: AuthService }> = async (app, { auth }) => {
  app.get('/clients', { config: admin, schema: { summary: 'List clients (never their secrets)', tags, response: { 200: Type.Object({ clients: Type.Array(Client) }) } } }, async () => ({
    clients: (await auth.listClients()).map(clientJson),
  }));

  app.post<{ Body: Static<typeof CreateClientBody> }>(
    '/clients',
    { config: admin, schema: { summary: 'Create a client; the answer holds its secret, once', tags, body: CreateClientBody, response: { 201: ClientWithSecret } } },
    async (request, reply) => {
      const created = await auth.createClient({
        name: request.body.name,
        scopes: request.body.scopes,
        profile: request.body.profile ?? null,
        settings: request.body.settings,
      });
      if (!created) throw new Error('assertion failed: an unconditional create always inserts');
      return reply.code(201).send({ ...clientJson(created.client), client_secret: created.secret });
    },
  );

  app.get<{ Params: Static<typeof ClientIdParams> }>(
    '/clients/:id',
    { config: admin, schema: { summary: 'Describe a client', tags, params: ClientIdParams, response: { 200: Client } } },
    async (request) => clientJson(await auth.getClient(request.params.id)),
  );

  app.patch<{ Params: Static<typeof ClientIdParams>; Body: Static<typeof UpdateClientBody> }>(
    '/clients/:id',
    {
      config: admin,
      schema: { summary: 'Change the name, scopes, profile or settings (replaced whole) of a client', tags, params: ClientIdParams, body: UpdateClientBody, response: { 200: Client } },
    },
    async (request) => clientJson(await auth.updateClient(request.params.id, request.body)),
  );

  app.post<{ Params: Static<typeof ClientIdParams> }>(
    '/clients/:id/rotate-secret',
    {
      config: admin,
      schema: { summary: 'Replace the secret (the old one stops working at once); the answer holds the new one, once', tags, params: ClientIdParams, response: { 200: ClientWithSecret } },
    },
    async (request) => {
      const { client, secret } = await auth.rotateSecret(request.params.id);
      return { ...clientJson(client), client_secret: secret };
    },
  );

  app.post<{ Params: Static<typeof ClientIdParams> }>(
    '/clients/:id/disable',
    { config: admin, schema: { summary: 'Disable a client: no new tokens, and its tokens stop working within seconds', tags, params: ClientIdParams, response: { 200: Client } } },
    async (request) => clientJson(await auth.setEnabled(request.params.id, false)),
  );

  app.post<{ Params: Static<typeof ClientIdParams> }>(
    '/clients/:id/enable',
    { config: admin, schema: { summary: 'Enable a disabled client again', tags, params: ClientIdParams, response: { 200: Client } } },
    async (request) => clientJson(await auth.setEnabled(request.params.id, true)),
  );

  app.get('/keys', { config: admin, schema: { summary: 'List the live signing keys', tags, response: { 200: Type.Object({ keys: Type.Array(Key) }) } } }, async () => ({
    keys: (await auth.listKeys()).map(keyJson),
  }));

  app.post(
    '/keys/rotate',
    {
      config: admin,
      schema: {
        summary: 'Make a new current signing key; the old ones verify until their tokens expire',
        tags,
        response: { 200: Type.Object({ kid: Type.String(), previous: Type.Array(Type.String()) }) },
      },
    },
    async () => auth.rotateKeys(),
  );
};
