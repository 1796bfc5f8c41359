/**
 * A size for people: "512 bytes", "3.00 MiB", "4.0 GiB". `decimals`: fixed, or by default
 * two below 10 and one above. Its own file, so that CLI commands load nothing else with it.
 */
export function formatBytes (n: number, decimals?: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(decimals ?? (value < 10 ? 2 : 1))} ${units[unit]}`
}
