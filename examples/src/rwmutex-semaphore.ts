// RWMutex: many readers at once, or one writer alone. Semaphore: at most N holders at once.
//
//   ETCD_ENDPOINTS=127.0.0.1:2379 node examples/dist/rwmutex-semaphore.js
//
// A lock's owner is a session (one lease), so each holder below has its own session, as
// separate processes would. Both locks use etcd's queue layout: waiters are served in order.
import { Etcd } from '@etcdkit/core';
import { RWMutex, Semaphore } from '@etcdkit/lock';

await using etcd = new Etcd();

// ---- RWMutex ----------------------------------------------------------------------------
{
  const name = '/examples/catalog';
  await using a = await etcd.session();
  await using b = await etcd.session();
  await using c = await etcd.session();
  const readerA = new RWMutex(a, name);
  const readerB = new RWMutex(b, name);
  const writer = new RWMutex(c, name);

  await readerA.rlock();
  await readerB.rlock();
  console.log(`readers holding ${name} together: ${(await RWMutex.holders(etcd, name)).length}`);
  console.log(`writer gets in while they read: ${await writer.tryLock()}`);

  await readerA.unlock();
  await readerB.unlock();
  await writer.lock(); // waits for the readers (here they are gone already)
  console.log(`writer alone, fencing token ${writer.fencingToken}`);
  console.log(`reader gets in while it writes: ${await readerA.tryRLock()}`);
  await writer.unlock();
}

// ---- Semaphore --------------------------------------------------------------------------
{
  const name = '/examples/downloads';
  const limit = 2;
  let running = 0;
  let most = 0;
  // Five workers, at most `limit` of them inside at any time.
  const worker = async (id: number) => {
    await using session = await etcd.session();
    const slot = new Semaphore(session, name, limit);
    await slot.acquire({ timeoutMs: 30_000 });
    try {
      running++;
      most = Math.max(most, running);
      // The work itself; a real worker would pass slot.signal to it, to stop if the slot is lost.
      await new Promise((resolve) => setTimeout(resolve, 50));
      console.log(`worker ${id} done`);
    } finally {
      running--;
      await slot.release();
    }
  };
  await Promise.all([1, 2, 3, 4, 5].map(worker));
  console.log(`at most ${limit} at once: ${most <= limit} (most seen: ${most})`);
}
