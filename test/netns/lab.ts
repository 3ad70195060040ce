/**
 * Hosts in network namespaces for the multi-host and NAT tests (npm run test:netns, as root):
 * a namespace per host, veth links, bridges, routers; one warren node process per host
 * (test/netns/host.ts) driven over IPC. Every namespace is named with this run's prefix and
 * deleted by `teardown` (after() hooks), which kills what runs inside first. No namespace has an
 * uplink: nothing a node dials can leave the namespaces this lab made.
 *
 * Addresses: the IPv6 documentation prefix 3fff::/20 (RFC 9637) stands for the public Internet:
 * libp2p counts it as global unicast, so nodes advertise and accept these addresses without
 * allowPrivateAddrs. (198.18.0.0/15 and the other IPv4 test ranges are in libp2p's private list,
 * rightly: RFC 6890 marks them not globally reachable. A namespace "Internet" built on them would
 * need the flag, which is exactly the shortcut these tests do without.) LANs behind a router use
 * ULAs (fd00::/8), private to libp2p like 10/8 or 192.168/16.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { HostInit, HostStatus } from './host.js'

const HOST_SCRIPT = new URL('./host.js', import.meta.url).pathname

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A warren node process in a namespace. */
export class Host {
  private next = 0
  private readonly pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  status!: HostStatus

  constructor (readonly name: string, readonly proc: ChildProcess) {
    proc.on('message', (m: { id?: number, ok?: boolean, result?: unknown, error?: string }) => {
      if (m.id === undefined) return
      const p = this.pending.get(m.id)
      this.pending.delete(m.id)
      if (m.ok === true) p?.resolve(m.result)
      else p?.reject(new Error(`${this.name}: ${m.error ?? 'failed'}`))
    })
    proc.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.name}: the node process exited`))
      this.pending.clear()
    })
  }

  async call<T = any> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.next
    return await new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.proc.send({ id, cmd, ...args })
    })
  }

  get peerId (): string {
    return this.status.peerId
  }

  async refresh (): Promise<HostStatus> {
    this.status = await this.call<HostStatus>('status')
    return this.status
  }
}

export class Lab {
  /** Unique per run: namespace names stay apart from any other run's. */
  readonly prefix = `wr${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`
  private readonly namespaces: string[] = []
  private readonly hosts: Host[] = []
  private readonly dirs: string[] = []

  /** A new namespace with its loopback up; returns its full name. */
  ns (name: string): string {
    const full = `${this.prefix}-${name}`
    ip('netns', 'add', full)
    this.namespaces.push(full)
    ip('-n', full, 'link', 'set', 'lo', 'up')
    return full
  }

  /** A namespace holding one bridge (`br0`): the switch of a network segment. */
  switch (name: string): string {
    const ns = this.ns(name)
    ip('-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', ns, 'link', 'set', 'br0', 'up')
    return ns
  }

  /** Plug `host` into switch `sw` by a veth pair: `ifname` in the host with `addr` (CIDR). */
  plug (sw: string, host: string, ifname: string, addr: string): void {
    const port = `p${this.namespaces.indexOf(host)}${ifname}`.slice(0, 15)
    ip('-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', host)
    ip('-n', sw, 'link', 'set', port, 'master', 'br0')
    ip('-n', sw, 'link', 'set', port, 'up')
    this.address(host, ifname, addr)
  }

  /** A direct veth link between two namespaces. */
  wire (a: string, ifa: string, addrA: string, b: string, ifb: string, addrB: string): void {
    ip('-n', a, 'link', 'add', ifa, 'type', 'veth', 'peer', 'name', ifb, 'netns', b)
    this.address(a, ifa, addrA)
    this.address(b, ifb, addrB)
  }

  private address (ns: string, ifname: string, addr: string): void {
    // nodad: the address is usable at once (no duplicate-address detection delay on IPv6).
    ip('-n', ns, 'addr', 'add', addr, 'dev', ifname, ...(addr.includes(':') ? ['nodad'] : []))
    ip('-n', ns, 'link', 'set', ifname, 'up')
  }

  /** Run a command inside namespace `ns` (ip, ip6tables, sysctl). */
  exec (ns: string, cmd: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /** Start a warren node in `ns`; resolves once it is started. */
  async node (ns: string, init: Omit<HostInit, 'dataDir'>): Promise<Host> {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-netns-'))
    this.dirs.push(dataDir)
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, HOST_SCRIPT, JSON.stringify({ ...init, dataDir })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const host = new Host(ns, proc)
    this.hosts.push(host)
    host.status = await new Promise<HostStatus>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${ns}: the node did not start within 60 s`)) }, 60_000)
      proc.on('message', (m: { ready?: HostStatus }) => { if (m.ready !== undefined) { clearTimeout(timer); resolve(m.ready) } })
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${ns}: the node process exited with ${code} before it started`)) })
    })
    return host
  }

  /** Stop every node (killed if it does not stop in 5 s), delete every namespace and data dir. */
  async teardown (): Promise<void> {
    await Promise.all(this.hosts.map(async (h) => {
      if (h.proc.exitCode !== null || h.proc.signalCode !== null) return
      const exited = new Promise((resolve) => h.proc.once('exit', resolve))
      const timer = setTimeout(() => { h.proc.kill('SIGKILL') }, 5000)
      h.call('stop').catch(() => {})
      await exited
      clearTimeout(timer)
    }))
    for (const ns of this.namespaces.reverse()) {
      // Anything still running inside (it should not be) goes with it.
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter((p) => p !== '')
      for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
      try { ip('netns', 'del', ns) } catch {}
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true })
  }
}

/** Poll `check` until it holds; fails after `ms` saying what was awaited. */
export async function eventually<T> (check: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
