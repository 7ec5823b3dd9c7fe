/**
 * Preloaded into a benchmark server by bench/memory-breakdown.ts (`node --import tsx --import <this file>`):
 * on SIGUSR2 it runs a full GC, writes a heap snapshot to `$MEMORY_SNAPSHOT_DIR/<n>.heapsnapshot` and
 * prints `snapshot <path>` on stdout once the file is complete. The servers themselves stay unchanged.
 */
import { writeHeapSnapshot } from 'node:v8'
import { join } from 'node:path'

const dir = process.env.MEMORY_SNAPSHOT_DIR ?? '.'
let count = 0

process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const file = writeHeapSnapshot(join(dir, `${process.pid}-${++count}.heapsnapshot`))
  process.stdout.write(`snapshot ${file}\n`)
})
