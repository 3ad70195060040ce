/**
 * Every default of a warren node in one place. Anything a user can set (CLI flag, env var,
 * config file) starts from these values; see src/config.ts.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { networkProfile } from './routing/profiles.js'

// Protocol IDs (versioned; bump the version on any incompatible wire change).
export const PROTOCOL_PREFIX = '/warren'
export const REQUEST_PROTOCOL = `${PROTOCOL_PREFIX}/request/1.0.0`
export const INSERT_PROTOCOL = `${PROTOCOL_PREFIX}/insert/1.0.0`
export const ANNOUNCE_PROTOCOL = `${PROTOCOL_PREFIX}/announce/1.0.0`
/** The announcement's routed join, one stream per hop (src/protocol/join.ts). */
export const JOIN_PROTOCOL = `${PROTOCOL_PREFIX}/join/1.0.0`
/**
 * Requests and inserts multiplexed on one long-lived stream per neighbour (src/protocol/link.ts).
 * The per-operation REQUEST_PROTOCOL / INSERT_PROTOCOL stay served, and are used toward peers
 * without the link (third-party clients, older nodes).
 */
export const LINK_PROTOCOL = `${PROTOCOL_PREFIX}/link/1.0.0`

/** Hard cap on one length-prefixed frame: a 32 KiB block plus headers, with room to spare. */
export const MAX_FRAME_BYTES = 64 * 1024

/** Fixed CHK block size (bytes on the wire and on disk, after encryption and padding). */
export const BLOCK_SIZE = 32 * 1024

// Routing. The numbers that decide how the node routes are defined once, in the `network`
// routing profile (src/routing/profiles.ts), which the simulator runs too; these names stay
// for the drivers that read them.
export const MAX_HTL = networkProfile.core.maxHtl
/**
 * Own requests and inserts start at the maximum, as in Freenet: with the per-peer
 * probabilistic decrement at the maximum, a neighbour receiving MAX_HTL cannot tell whether
 * we originated the message or relayed it (a lower default would give the originator away).
 */
export const DEFAULT_HTL = MAX_HTL
export const ROUTING_TABLE_SIZE = networkProfile.core.routingTableSize
export const SOURCE_RESET_PROBABILITY = networkProfile.core.sourceResetProb
export const HOP_TIMEOUT_MS = networkProfile.core.hopTimeoutMs as number
/** Hops-to-live of a new node's announcement (the paper's simulations used 10). */
export const ANNOUNCE_HTL = networkProfile.announceHtl
/** Announcement walks share their references with the newcomer: see `networkProfile.announce`. */
export const ANNOUNCE_SHARE_WALK = networkProfile.announce.shareWalk
export const ANNOUNCE_SHARE_NEAREST = networkProfile.announce.shareNearest
/** Share of the block store kept for the keys nearest the node's location: see `networkProfile.store`. */
export const STORE_KEEP_FRACTION = networkProfile.store.keepFraction
/** Hops of the routed join after a successful announcement: see `networkProfile.announce`. */
export const ANNOUNCE_JOIN_HTL = networkProfile.announce.joinHtl

// Streams and per-peer limits.
export const MAX_INBOUND_STREAMS = 64
export const MAX_OUTBOUND_STREAMS = 128
/** Time allowed to read the first frame of an inbound stream. */
export const FIRST_FRAME_TIMEOUT_MS = 10_000
/** Operations one peer may have in progress at this node at once. */
export const MAX_OPS_PER_PEER = 32
/**
 * Link flow control: bytes of operation frames one end may send on a link stream before the
 * other grants more (LinkFrame.credit). Far below the 4 MiB at which libp2p resets a stream
 * whose reader lags (StreamBufferError), so a slow receiver throttles its sender instead.
 */
export const LINK_WINDOW_BYTES = 1024 * 1024
/** Link streams one peer may open to this node per connection (one is used; a spare for a reopen race). */
export const MAX_LINK_STREAMS = 2
/** Channels (operations) open at once on one link stream: a sender waits for a free one, a receiver resets any beyond. */
export const MAX_LINK_CHANNELS = MAX_OPS_PER_PEER

// Node.
export const DEFAULT_DATA_DIR = process.env.WARREN_HOME ?? join(homedir(), '.warren')
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/7400']
export const DEFAULT_API_HOST = '127.0.0.1'
export const DEFAULT_API_PORT = 7480
/** Store capacity in bytes (1 GiB). */
export const DEFAULT_STORE_BYTES = 1024 * 1024 * 1024
/**
 * Default client cache: what the node's own gets fetched and its puts inserted, kept apart
 * from the store (issue 11, finding 6). A quarter of the store's default: enough to read a
 * fetched site again without the network.
 */
export const DEFAULT_CLIENT_CACHE_BYTES = 256 * 1024 * 1024
/** Re-dial bootstrap peers and keep at least this many connections. */
export const MIN_CONNECTIONS = 4
export const MAINTENANCE_INTERVAL_MS = 15_000
/** Peers whose addresses, learnt from messages, the service remembers (LRU). */
export const ADDR_BOOK_SIZE = 4096
/** How long the node's own address list is taken as current in the references it sends. */
export const PEER_REF_TTL_MS = 60_000
/** Announcements one peer may have in progress at this node at once. */
export const MAX_ANNOUNCES_PER_PEER = 4
/** Peers whose ARKs the node remembers, to find them again if they move. */
export const ARK_KNOWN_PEERS = 64
/**
 * Verification of learnt routes (issue 11, finding 2; src/protocol/verifier.ts): a route to a
 * peer the node has not connected to waits until the node has dialled it. At most
 * VERIFY_PARALLEL dials at once, started every VERIFY_INTERVAL_MS at most, each given
 * VERIFY_DIAL_TIMEOUT_MS: ~16 peers a second, and a tarpit holds at most 4 dials for 5 s.
 */
export const VERIFY_PARALLEL = 4
export const VERIFY_INTERVAL_MS = 250
export const VERIFY_DIAL_TIMEOUT_MS = 5_000
/** Time allowed to dial a peer during maintenance or ARK reconnection. */
export const DIAL_TIMEOUT_MS = 10_000
/** How often the block store writes buffered access statistics to disk. */
export const STORE_META_FLUSH_INTERVAL_MS = 30_000
/**
 * Most puts one LevelDB batch carries: puts that arrive while the previous batch is being
 * written go out together in the next one (group commit; see src/store/block-store.ts).
 * Small on purpose: LevelDB (classic-level) wrote 32 KiB blocks fastest in batches of ~4
 * (128 KiB; 2,300-4,000 blocks/s against 2,100-2,400 one per batch) and 2-3x slower in
 * batches of 16-32 (650-980 blocks/s), measured with bench/store.ts and raw classic-level.
 */
export const STORE_BATCH_MAX_BLOCKS = 4
/**
 * LevelDB's memtable size for the block store (its default is 4 MiB). 16 MiB wrote 32 KiB
 * blocks 2.5-4x faster at half the CPU (fewer level-0 tables, less compaction): 2,000-3,700
 * blocks/s against 640-1,000 with the defaults, raw classic-level, 8 writers (bench/store.ts
 * measures the store). Costs up to twice this in memory while a full memtable is compacted.
 */
export const STORE_WRITE_BUFFER_BYTES = 16 * 1024 * 1024
/**
 * The client cache's memtable: LevelDB's default. The client cache takes every block of the
 * node's own puts and gets (a 256 MiB put writes 512 MiB of data and check blocks into it), so
 * its memtable, and the full one being compacted beside it, count whole in the peak RSS of a
 * transfer: 2 x 16 MiB with the store's setting, 2 x 4 MiB with this one (docs/benchmarks.md).
 */
export const CLIENT_CACHE_WRITE_BUFFER_BYTES = 4 * 1024 * 1024
/**
 * A file larger than the client cache's size divided by this is not kept in it (the node's
 * WarrenClient keepMaxBytes; default 256 MiB / 8 = 32 MiB): such a file would turn the cache
 * over, evicting the sites and files the user fetched before, and writing it costs the
 * transfer a LevelDB write per block and its compactions. Measured (bench/transfer-memory.ts,
 * 256 MiB, one run each): peak RSS of the put node 232 -> 214 MiB, of the get node 231 -> 203
 * MiB, the table files LevelDB's compactions had mapped (22-29 MiB) gone (docs/benchmarks.md,
 * "Not keeping large transfers"). A larger client cache (`--client-cache-size`) keeps larger files.
 */
export const CLIENT_CACHE_KEEP_DIVISOR = 8
/** Window of the node page's recent request statistics. */
export const RECENT_STATS_WINDOW_MS = 5 * 60_000
/** Largest JSON body accepted by POST /api/v1/site. */
export const MAX_SITE_JSON_BYTES = 16 * 1024 * 1024
/**
 * Concurrent block transfers of one client put/get. More operations in flight share the link
 * layer's writes (link.ts writes all queued frames once per event-loop turn) and hide the
 * chain's round trips: bench/chain.ts in one process, CPU seconds of a 16 MiB get at 8 / 16 / 32
 * blocks in flight 4.6-4.9 / 3.6 / 3.1-3.3, of an 8 MiB put 8.4 / 7.2 / 5.9 (load ~20,
 * docs/benchmarks.md). 24 leaves a quarter of a neighbour's per-peer slots (MAX_OPS_PER_PEER)
 * to the operations it relays for others while one transfer runs.
 */
export const CLIENT_CONCURRENCY = 24
/**
 * Tries of one insert whose block no peer kept (InsertNotPlacedError: every route failed, timed
 * out or was rejected). Each try is a new operation with a new ID and a full time budget. Issue
 * 12: the latency bench's first put lost its only hop to a timer that fired late (the event loop
 * stalled 4-5 s) and, without a second try, that key was stored nowhere peers could fetch it.
 */
export const INSERT_ATTEMPTS = 2
/**
 * How long an own insert waits before it tries again when a peer refused it as OVERLOADED (its
 * insert quota, INSERT_QUOTA_*, or its operation limits), one wait per refusal, then it fails.
 * They add up to ~63 s, past one quota window (INSERT_QUOTA_WINDOW_MS), so a bulk put through
 * a single neighbour slows to that neighbour's quota instead of failing or, as before, ending
 * blocks in its own client cache (the 64 MiB chain bench's put: 4,116 blocks through one
 * neighbour in 38 s, past its 4,096 a minute; docs/benchmarks.md).
 */
export const INSERT_OVERLOADED_WAITS_MS = [1000, 2000, 4000, 8000, 16_000, 16_000, 16_000]

// Split files with FEC (src/client/splitfile.ts, docs/fec.md).
/** Data blocks per FEC segment (k): any k of a segment's k + m blocks rebuild it. */
export const SEGMENT_DATA_BLOCKS = 128
/** Check blocks per full segment (m); shorter segments get m * k_s / k, rounded up. */
export const SEGMENT_CHECK_BLOCKS = 128
/** Tries per block fetch (the first plus retries) before a check block is fetched instead. */
export const BLOCK_FETCH_TRIES = 2
/** Healing inserts (blocks a fetch had to rebuild by FEC, inserted again) in flight at once. */
export const HEAL_CONCURRENCY = 2
/** Rebuilt blocks waiting to be healed; beyond this (8 MiB of 32 KiB blocks) more are dropped. */
export const HEAL_QUEUE_BLOCKS = 256

// HTTP gateway (src/gateway/): served by the client API server.
/** Largest HTML page the gateway filters in memory; bigger ones are served as text/plain. */
export const GATEWAY_MAX_HTML_BYTES = 4 * 1024 * 1024

// Signed and updatable keys (src/client/resolve.ts, src/ark/, docs/keys.md).
/** Redirects (and updatable-descriptor hops) `get` follows before giving up. */
export const MAX_REDIRECTS = 8
/** Requests one latest-edition search may spend. */
export const EDITION_MAX_PROBES = 32
/** Default period of a new date-based redirect: one day. */
export const DEFAULT_DBR_PERIOD_S = 86_400
/** How often a node republishes its ARK if its addresses changed (and retries a failed publish). */
export const ARK_REPUBLISH_MS = 60_000

// Limits on what one peer (and everyone together) may make this node do (issue 11).
/**
 * Inserts one peer may make this node take per INSERT_QUOTA_WINDOW_MS, in blocks and in bytes
 * (src/protocol/quota.ts); past either the insert is refused with OVERLOADED. A security review
 * stored 12,751 blocks (~398 MiB) from one peer in 20 s, turning a 1 GiB store over in about a
 * minute; with these a peer gets at most 4,096 blocks (128 MiB) a minute, so turning the default
 * store over takes one peer 8 minutes. The price: an honest bulk put relayed through a single
 * neighbour is held to ~2 MiB/s at that neighbour (a 32 MiB file with its FEC check blocks,
 * ~2,100 blocks, passes within a minute; a 256 MiB one through one link does not).
 */
export const INSERT_QUOTA_BLOCKS = 4096
export const INSERT_QUOTA_BYTES = 128 * 1024 * 1024
export const INSERT_QUOTA_WINDOW_MS = 60_000
/**
 * Operations (requests and inserts) the peers at one IP address (IPv6: one /64) may have in
 * progress at this node together, and all peers together; past either, OVERLOADED and the
 * upstream tries another route. The review ran 30 identities x MAX_OPS_PER_PEER from one host
 * (260 at once; honest median 14 -> 336 ms): one host now gets two identities' worth, and the
 * node's load is bounded whatever the number of hosts.
 */
export const MAX_OPS_PER_IP = 2 * MAX_OPS_PER_PEER
export const MAX_OPS_TOTAL = 256
/**
 * Addresses the address book keeps per learnt peer (of the MAX_PEER_ADDRS a reference may carry),
 * each cut to what a TCP dial uses (/ip4|ip6/<ip>/tcp/<port>, at most 20 bytes): a security
 * review grew a node's RSS 105 -> 283 MiB with 6,000 references of 8 long addresses each.
 */
export const ADDR_BOOK_ADDRS_PER_PEER = 4

/**
 * An idle FEC pool worker exits after this long (src/client/fec-pool.ts): long enough to
 * stay up between the segments of one transfer, short enough that an idle node does not keep
 * a worker heap and codec memory per core.
 */
export const FEC_POOL_IDLE_MS = 5_000
