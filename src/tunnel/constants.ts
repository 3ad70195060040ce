/**
 * Tunnel (SSL-through-SSL, issue 13) parameters. Why these values: docs/tunnel.md.
 */
import { PROTOCOL_PREFIX } from '../constants.js'
import { MAX_PADDED_FRAME_BYTES } from '../protocol/padding.js'

export const TUNNEL_PROTOCOL = `${PROTOCOL_PREFIX}/tunnel/1.0.0`

/** A trusted peer's name (`warren trust add CARD --name NAME`, `--via NAME`, the gateway setting). */
export const TRUSTED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/

/** A tunnel key is published this long, then replaced (a week: cards stay fresh without weekly re-adding, see TrustBook.refresh). */
export const TUNNEL_KEY_LIFETIME_MS = 7 * 24 * 3600_000
/** A replaced key still opens requests this long (requesters pick the new card up from any reply). */
export const TUNNEL_KEY_GRACE_MS = 2 * 24 * 3600_000

/**
 * Padded sizes of a sealed request (HPKE plaintext; index = header size_class). A few fixed
 * sizes, not random ones: random padding averages out over many messages (notes/tunnel.md).
 * 1 KiB holds any CHK/SSK URI; 4 KiB a long URL.
 */
export const TUNNEL_SIZE_CLASSES = [1024, 4096] as const
/**
 * Padded plaintext sizes of a sealed chunk: control replies and small tails, and bulk data. A
 * bulk chunk fills the largest padded frame (src/protocol/padding.ts) but for its tag and
 * framing (TunnelFrame type, sealed field, padding field, length prefix: 28 bytes; 64 kept), so
 * frame padding costs bulk tunnel traffic almost nothing.
 */
export const CHUNK_SIZE_CLASSES = [1024, MAX_PADDED_FRAME_BYTES - 64] as const
/** Bytes of a chunk's plaintext that are its flags and length (the rest is data and padding). */
export const CHUNK_OVERHEAD = 5
/** Largest data in one chunk. */
export const CHUNK_DATA_BYTES = CHUNK_SIZE_CLASSES[CHUNK_SIZE_CLASSES.length - 1] - CHUNK_OVERHEAD
/** AEAD tag (ChaCha20-Poly1305). */
export const TAG_BYTES = 16
/** Largest tunnel frame accepted (the largest padded frame, well below Noise's 65519). */
export const MAX_TUNNEL_FRAME_BYTES = MAX_PADDED_FRAME_BYTES

/** Accepted request envelopes remembered per key epoch (32 bytes each: 32 MiB at most). */
export const REPLAY_CACHE_MAX = 1_000_000
/** A tunnel that moves no chunk for this long is torn down (every hop applies it). */
export const TUNNEL_IDLE_MS = 60_000
/** Tunnels one neighbour may have open through or at this node at once. */
export const TUNNELS_PER_PEER = 16
/** Largest body a requester may stream up for a PUT through a trusted peer. */
export const MAX_PUT_BYTES = 1024 * 1024 * 1024
