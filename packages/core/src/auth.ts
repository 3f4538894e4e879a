import type { CallOptions, Connection } from './internal/connection.js';
import type { KeySelector, Keyspace } from './internal/keyspace.js';

/** Access a role's permission grants on its keys. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/** One permission of a role, as {@link AuthApi.roleGet} returns it. */
export interface Permission {
  /** Read, write or both. */
  type: PermissionType;
  /** Relative to the client's namespace. */
  key: Buffer;
  /** Exclusive end; empty for a single key. */
  end: Buffer;
}

const TYPES = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' } as const;

/** User, role and permission administration, as `etcdctl user|role|auth ...` do it. */
export class AuthApi {
  private readonly conn: Connection;
  private readonly ks: Keyspace;
  /** @internal */
  constructor(conn: Connection, ks: Keyspace) {
    this.conn = conn;
    this.ks = ks;
  }

  private call<Res = object>(
    name: string,
    req: object,
    options?: CallOptions,
    idempotent = true,
  ): Promise<Res> {
    return this.conn.unary<object, Res>('Auth', name, req, { idempotent, ...options });
  }

  /** Turn authentication on (a `root` user with the `root` role must exist). */
  async enable(options?: CallOptions): Promise<void> {
    await this.call('AuthEnable', {}, options);
  }

  /** Turn authentication off (needs the `root` role when it is on). */
  async disable(options?: CallOptions): Promise<void> {
    await this.call('AuthDisable', {}, options);
  }

  /** Create a user with a password. Rejects when the user exists. */
  async userAdd(name: string, password: string, options?: CallOptions): Promise<void> {
    await this.call('UserAdd', { name, password, options: { noPassword: false } }, options, false);
  }

  /** Delete a user. */
  async userDelete(name: string, options?: CallOptions): Promise<void> {
    await this.call('UserDelete', { name }, options, false);
  }

  /** Set a user's password. */
  async userChangePassword(name: string, password: string, options?: CallOptions): Promise<void> {
    await this.call('UserChangePassword', { name, password }, options);
  }

  /** The roles of a user. */
  async userGet(name: string, options?: CallOptions): Promise<string[]> {
    return (await this.call<{ roles: string[] }>('UserGet', { name }, options)).roles;
  }

  /** The names of every user. */
  async userList(options?: CallOptions): Promise<string[]> {
    return (await this.call<{ users: string[] }>('UserList', {}, options)).users;
  }

  /** Give `role` to `user`. */
  async userGrantRole(user: string, role: string, options?: CallOptions): Promise<void> {
    await this.call('UserGrantRole', { user, role }, options);
  }

  /** Take `role` from user `name`. */
  async userRevokeRole(name: string, role: string, options?: CallOptions): Promise<void> {
    await this.call('UserRevokeRole', { name, role }, options);
  }

  /** Create a role (with no permissions). Rejects when the role exists. */
  async roleAdd(name: string, options?: CallOptions): Promise<void> {
    await this.call('RoleAdd', { name }, options, false);
  }

  /** Delete a role. */
  async roleDelete(role: string, options?: CallOptions): Promise<void> {
    await this.call('RoleDelete', { role }, options, false);
  }

  /** The names of every role. */
  async roleList(options?: CallOptions): Promise<string[]> {
    return (await this.call<{ roles: string[] }>('RoleList', {}, options)).roles;
  }

  /** The permissions of a role, with keys relative to the client's namespace. */
  async roleGet(role: string, options?: CallOptions): Promise<Permission[]> {
    const r = await this.call<{
      perm: { permType: 'READ' | 'WRITE' | 'READWRITE'; key: Buffer; rangeEnd: Buffer }[];
    }>('RoleGet', { role }, options);
    return r.perm.map((p) => ({
      type: p.permType.toLowerCase() as PermissionType,
      key: this.ks.strip(p.key),
      end:
        p.rangeEnd.length && p.rangeEnd.length >= this.ks.prefix.length
          ? this.ks.strip(p.rangeEnd)
          : p.rangeEnd,
    }));
  }

  /** Grant `type` access on a key, a prefix or a range (namespace-relative). */
  async roleGrantPermission(
    role: string,
    type: PermissionType,
    keys: KeySelector,
    options?: CallOptions,
  ): Promise<void> {
    const { key, rangeEnd } = this.ks.range(keys);
    await this.call(
      'RoleGrantPermission',
      { name: role, perm: { permType: TYPES[type], key, rangeEnd: rangeEnd ?? Buffer.alloc(0) } },
      options,
    );
  }

  /** Remove the permission of `role` on exactly this key, prefix or range (as it was granted). */
  async roleRevokePermission(role: string, keys: KeySelector, options?: CallOptions): Promise<void> {
    const { key, rangeEnd } = this.ks.range(keys);
    await this.call('RoleRevokePermission', { role, key, rangeEnd: rangeEnd ?? Buffer.alloc(0) }, options);
  }
}
