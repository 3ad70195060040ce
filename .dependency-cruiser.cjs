// Import graph rules (issue 10). Run on the compiled JavaScript (dist/src): TypeScript 7 has no
// JavaScript API for dependency-cruiser to parse .ts with, and tsc emits one .js per .ts with the
// same relative imports (type-only imports are erased, which is what layering is about at run time).
// Layers, low to high: keys, routing -> store -> protocol -> tunnel, client -> ark -> gateway -> api -> node.js -> cli.
// The simulator (sim) drives the same pure core as the node and sits beside protocol.
const S = '^dist/src/'
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles make start-up order and layering accidental', from: {}, to: { circular: true } },
    {
      name: 'pure-core',
      severity: 'error',
      comment: 'routing, keys and store policy are plain TypeScript: no libp2p, no I/O (architecture rule 1)',
      from: { path: `${S}(routing|keys)/|${S}store/(store-policy|memory-store)\\.js` },
      to: { path: '^(@libp2p|libp2p|@chainsafe|datastore-|interface-datastore|fastify|pino)|^node:(fs|net|http|https|dgram|child_process|worker_threads)|^(fs|net|http|https|dgram|child_process|worker_threads)$' }
    },
    {
      name: 'core-below-drivers',
      severity: 'error',
      comment: 'the core never reaches up into its drivers or the applications built on them',
      from: { path: `${S}(routing|keys|store)/` },
      to: { path: `${S}(protocol|client|ark|gateway|api|cli|sim)/|${S}node\\.js` }
    },
    {
      name: 'protocol-below-client',
      severity: 'error',
      from: { path: `${S}protocol/` },
      to: { path: `${S}(client|ark|gateway|api|cli|sim)/|${S}node\\.js` }
    },
    {
      name: 'client-uses-network-interface',
      severity: 'error',
      comment: 'the client depends on BlockNetwork (protocol/types) and its errors, never on the libp2p service',
      from: { path: `${S}client/` },
      to: { path: `${S}(ark|gateway|api|cli|sim)/|${S}node\\.js|${S}protocol/(?!types\\.js|errors\\.js)` }
    },
    {
      name: 'tunnel-below-applications',
      severity: 'error',
      comment: 'SSL-through-SSL (src/tunnel) sits on the protocol layer; the node wires the client into it',
      from: { path: `${S}tunnel/` },
      to: { path: `${S}(client|ark|gateway|api|cli|sim)/|${S}node\\.js` }
    },
    {
      name: 'gateway-below-api',
      severity: 'error',
      from: { path: `${S}gateway/` },
      to: { path: `${S}(api|cli)/` }
    },
    {
      name: 'api-below-cli',
      severity: 'error',
      from: { path: `${S}api/` },
      to: { path: `${S}cli/` }
    },
    {
      name: 'sim-runs-the-core-only',
      severity: 'error',
      comment: 'the simulator drives the same pure core as the node; it gets no routing (or libp2p) of its own',
      from: { path: `${S}sim/` },
      to: { path: `${S}(protocol|client|ark|gateway|api|cli)/|${S}node\\.js|^(@libp2p|libp2p|@chainsafe)` }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/(test|bench)/' }
  }
}
