// Zipf-distributed integer keys (Gray et al.'s generator, as in YCSB): key 0 is
// the most popular. A seeded xorshift drives it, so every run draws the same keys.
export function zipfKeys(count, universe, theta, seed) {
  let zeta = 0;
  for (let i = 1; i <= universe; i++) zeta += 1 / i ** theta;
  const zeta2 = 1 + 1 / 2 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / universe) ** (1 - theta)) / (1 - zeta2 / zeta);
  let x = seed >>> 0 || 1;
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 2 ** 32;
    const uz = u * zeta;
    keys[i] = uz < 1 ? 0 : uz < zeta2 ? 1 : Math.floor(universe * (eta * u - eta + 1) ** alpha);
  }
  return keys;
}
