/**
 * What a benchmark child process measures and reports to the harness: wall and CPU time of the work alone (not the
 * process's start), its own peak RSS, as one JSON line on stdout. Imports nothing, so a child's RSS is its work's.
 */

export interface Measured {
  readonly items: number
  /** Bytes of decompressed data, when the child counts them. */
  readonly bytes?: number
  /** The peak RSS before the work started (its sink opened), when the child reports it. */
  readonly openRss?: number
}

export const measure = async (work: () => Promise<Measured>): Promise<void> => {
  const started = performance.now()
  const cpuStarted = process.cpuUsage()
  const result = await work()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuStarted)
  const maxRss = process.resourceUsage().maxRSS * 1024
  process.stdout.write(`${JSON.stringify({ ...result, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRss })}\n`)
}
