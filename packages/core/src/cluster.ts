import type { CallOptions, Connection } from './internal/connection.js';

/** One member of the etcd cluster, as {@link ClusterApi} returns it. */
export interface Member {
  /** The member ID (uint64). */
  id: bigint;
  /** Empty for a member added but not started yet. */
  name: string;
  /** URLs the other members reach it on. */
  peerUrls: string[];
  /** URLs clients reach it on; empty until it has started. */
  clientUrls: string[];
  /** True for a learner (a non-voting member catching up). */
  isLearner: boolean;
}

interface WireMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

function toMember(m: WireMember): Member {
  return {
    id: BigInt(m.ID),
    name: m.name,
    peerUrls: m.peerURLs,
    clientUrls: m.clientURLs,
    isLearner: m.isLearner,
  };
}

/** Membership calls, as `etcdctl member ...` makes them. */
export class ClusterApi {
  private readonly conn: Connection;
  /** @internal */
  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** Every member of the cluster. */
  async memberList(options?: CallOptions): Promise<Member[]> {
    const r = await this.conn.unary<object, { members: WireMember[] }>(
      'Cluster',
      'MemberList',
      {},
      { idempotent: true, ...options },
    );
    return r.members.map(toMember);
  }

  /** Add a member (as a learner with `isLearner`); start it afterwards with --initial-cluster-state existing. */
  async memberAdd(
    peerUrls: string[],
    options: CallOptions & { isLearner?: boolean } = {},
  ): Promise<{
    /** The new member. */
    member: Member;
    /** Every member, the new one included. */
    members: Member[];
  }> {
    const r = await this.conn.unary<object, { member: WireMember; members: WireMember[] }>(
      'Cluster',
      'MemberAdd',
      { peerURLs: peerUrls, isLearner: options.isLearner ?? false },
      { idempotent: false, ...options },
    );
    return { member: toMember(r.member), members: r.members.map(toMember) };
  }

  /** Remove the member `id`; resolves with the members left. */
  async memberRemove(id: bigint, options?: CallOptions): Promise<Member[]> {
    const r = await this.conn.unary<object, { members: WireMember[] }>(
      'Cluster',
      'MemberRemove',
      { ID: id.toString() },
      { idempotent: false, ...options },
    );
    return r.members.map(toMember);
  }

  /** Change the peer URLs of member `id`; resolves with every member. */
  async memberUpdate(id: bigint, peerUrls: string[], options?: CallOptions): Promise<Member[]> {
    const r = await this.conn.unary<object, { members: WireMember[] }>(
      'Cluster',
      'MemberUpdate',
      { ID: id.toString(), peerURLs: peerUrls },
      { idempotent: true, ...options },
    );
    return r.members.map(toMember);
  }

  /** Promote a learner that has caught up with the leader to a voting member. */
  async memberPromote(id: bigint, options?: CallOptions): Promise<Member[]> {
    const r = await this.conn.unary<object, { members: WireMember[] }>(
      'Cluster',
      'MemberPromote',
      { ID: id.toString() },
      { idempotent: true, ...options },
    );
    return r.members.map(toMember);
  }
}
