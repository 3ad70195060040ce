/**
 * Frame padding (src/protocol/padding.ts): every message length lands exactly on a size class,
 * padded messages decode to what was sent, a 32 KiB block with the largest source reference a
 * peer may report fits the largest class, and what cannot fit is refused before sending.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodingLength } from 'uint8-varint'
import { Frame, FrameType, LinkFrame } from '../../proto/warren.js'
import { BLOCK_SIZE } from '../../src/constants.js'
import { dataFrame, MAX_PEER_ADDRS } from '../../src/protocol/messages.js'
import { FRAME_PADDING, FRAME_SIZE_CLASSES, FrameTooLarge, LINK_FRAME_PADDING, MAX_PADDED_FRAME_BYTES, padded, paddingFor, TUNNEL_FRAME_PADDING } from '../../src/protocol/padding.js'
import { KeyType } from '../../proto/warren.js'

const total = (bytes: Uint8Array): number => bytes.length + encodingLength(bytes.length)

describe('frame padding', () => {
  it('pads every bare length to the smallest class that holds it, exactly', () => {
    for (const fields of [LINK_FRAME_PADDING, FRAME_PADDING, TUNNEL_FRAME_PADDING]) {
      const narrow = encodingLength((fields.padding << 3) | 2)
      for (let bare = 0; bare < MAX_PADDED_FRAME_BYTES - 8; bare++) {
        const fit = paddingFor(bare, fields)!
        assert.ok(fit.padding >= 1)
        const len = bare + encodingLength((fields[fit.field] << 3) | 2) + encodingLength(fit.padding) + fit.padding
        assert.equal(len + encodingLength(len), fit.total, `bare ${bare}`)
        // No smaller class could hold it with the padding field's minimum (tag, length, 1 byte).
        for (const c of FRAME_SIZE_CLASSES.filter((c) => c < fit.total)) assert.ok(bare + narrow + 2 + encodingLength(bare + narrow + 2) > c, `bare ${bare} fits ${c}`)
      }
    }
  })

  it('a padded Frame decodes to the frame sent', () => {
    const codec = padded(Frame, FRAME_PADDING)
    const f: Frame = { type: FrameType.REQUEST, request: { id: 7n, key: new Uint8Array(32).fill(3), htl: 18 } }
    const bytes = codec.encode(f)
    assert.equal(total(bytes), FRAME_SIZE_CLASSES[0])
    const back = codec.decode(bytes)
    assert.deepEqual({ ...back, padding: undefined }, { ...Frame.decode(Frame.encode(f)), padding: undefined })
    // A relayed frame's old padding is replaced, not added to.
    assert.equal(total(codec.encode(back)), FRAME_SIZE_CLASSES[0])
  })

  it('a CHK block with the largest source reference fits the largest class on a link', () => {
    const source = { peerId: new Uint8Array(64), multiaddrs: Array.from({ length: MAX_PEER_ADDRS }, () => new Uint8Array(256)) }
    const f = dataFrame(FrameType.DATA_FOUND, { type: KeyType.CHK, data: new Uint8Array(BLOCK_SIZE), pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }, source, 255)
    const body = Frame.encode(f)
    const bare = LinkFrame.encode({ channel: 0xffffffff, flags: 3, credit: 0xffffffff, frame: f, padding: new Uint8Array() }).length
    assert.ok(bare > body.length)
    assert.equal(paddingFor(bare, LINK_FRAME_PADDING)!.total, MAX_PADDED_FRAME_BYTES)
    assert.ok(f.dataFound!.source!.multiaddrs.length < MAX_PEER_ADDRS, 'the reference was trimmed to fit')
  })

  it('refuses a frame no class holds', () => {
    assert.throws(() => paddingFor(MAX_PADDED_FRAME_BYTES, FRAME_PADDING), FrameTooLarge)
    assert.throws(() => padded(Frame, FRAME_PADDING).encode({ type: FrameType.INSERT_DATA, insertData: { block: { type: KeyType.CHK, data: new Uint8Array(MAX_PADDED_FRAME_BYTES), pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } } }), /does not fit the largest padded frame size/)
  })
})
