/**
 * Issue 11 (low finding): the node's own address record listed every interface, loopback
 * included. What a peer learns of a node's addresses (the source of a DATA_FOUND it answers
 * from its store) is, by default, only what others may dial: no loopback or private address
 * unless the node allows private addresses (the control run); with `announce` configured,
 * exactly the configured addresses.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { FrameType } from '../../proto/warren.js'
import { chkBlock, rawInsert, rawRequest } from '../helpers/attacks.js'
import { createNode } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { removeTempDir } from '../helpers/temp.js'
import type { TestNetworkOptions } from '../helpers/network.js'
import type { AddressInfo } from 'node:net'

/** The addresses `options`' node names for itself, as a raw peer sees them. */
async function advertised (options: TestNetworkOptions): Promise<{ told: string[], listen: string[] }> {
  // A port chosen up front: with `announce` configured, libp2p lists only the announced
  // addresses, so the address to dial is not among the node's multiaddrs.
  const port = await freePort()
  const { node, dir } = await createNode({ ...options, config: { listen: [`/ip4/127.0.0.1/tcp/${port}`], ...options.config } })
  const evil = await createRawPeer()
  await evil.start()
  try {
    const target = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${node.peerId}`)
    const b = chkBlock()
    assert.deepEqual(await rawInsert(evil, target, 1n, b), { stored: true })
    const f = await rawRequest(evil, target, 2n, b.key)
    assert.equal(f.type, FrameType.DATA_FOUND)
    return { told: f.dataFound!.source!.multiaddrs.map((a) => multiaddr(a).toString()), listen: node.libp2p.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()) }
  } finally {
    await evil.stop()
    await node.stop()
    await removeTempDir(dir)
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('the addresses a node advertises', () => {
  it('are never loopback or private by default', async () => {
    const { told, listen } = await advertised({ service: { allowPrivateAddrs: false } })
    assert.ok(listen.length > 0)
    assert.deepEqual(told, [], `advertised: ${told.join(', ')}`)
  })

  it('are its listen addresses when private addresses are allowed (control)', async () => {
    const { told, listen } = await advertised({ service: { allowPrivateAddrs: true } })
    assert.deepEqual(told, listen)
  })

  it('are the configured announce addresses when given', async () => {
    const announce = ['/ip4/203.0.113.5/tcp/7400', '/dns4/warren.example/tcp/7400']
    const { told } = await advertised({ service: { allowPrivateAddrs: true }, config: { announce } })
    assert.deepEqual(told, announce)
  })
})
