/**
 * The PostgreSQL test harness (issue 11): throwaway PostgreSQL 15 servers on
 * loopback for the store tests and the chaos tests.
 *
 *   const pg = await startPostgres();                    // one server
 *   const url = await pg.createDatabase('t1');           // + passwordFile: pg.passwordFile
 *   await pg.destroy();
 *
 *   const c = await startReplicated();                   // primary + s1, s2, synchronous ANY 1, proxy in front
 *   await c.primary.kill();                              // kill -9 (postmaster and its children)
 *   await c.promote(await c.mostAdvancedStandby());      // others re-pointed, proxy moved: c.url() still works
 *   await c.reclone(oldPrimary);                         // back as a standby of the new primary
 *   await c.destroy();
 */
export { PgCluster, PgHarness, type ReplicatedOptions, startPostgres, startReplicated } from './pg/cluster.js';
export { TcpProxy } from './pg/proxy.js';
export { freePort, PG_BIN, PgServer, type PgServerOptions } from './pg/server.js';
