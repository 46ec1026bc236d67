// The machine description committed with the results.
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { execFileSync } from 'node:child_process'

export function describeMachine(chromiumVersion) {
  let cpuModel = cpus()[0]?.model ?? 'unknown'
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    cpuModel = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? cpuModel
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  let os = process.platform
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os
  } catch {
    // Keep the platform name.
  }
  let kernel = ''
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()
  } catch {
    // Optional.
  }
  return {
    cpu: cpuModel,
    cores: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: kernel ? `${os} (kernel ${kernel})` : os,
    node: process.version,
    chromium: chromiumVersion,
  }
}
