/**
 * Standalone entry of the simulator: `node dist/src/sim/main.js <experiment> [options]`,
 * the same commands as `warren sim ...`.
 */
import { Command } from 'commander'
import { registerSimCommand } from './cli.js'

const program = new Command('warren')
registerSimCommand(program)
await program.parseAsync(['node', 'warren', 'sim', ...process.argv.slice(2)])
