// An SVG line plot of miss ratio against cache size (log scale), one line per policy.
import type { ReplayResult } from './replay.js';

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 60, right: 130, top: 30, bottom: 50 };
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd'];

const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function missRatioPlot(title: string, results: ReplayResult[]): string {
  const sizes = [...new Set(results.map((r) => r.size))].sort((a, b) => a - b);
  const policies = [...new Set(results.map((r) => r.policy))];
  const ratios = results.map((r) => r.missRatio);
  const low = Math.max(0, Math.floor(Math.min(...ratios) * 10) / 10);
  const high = Math.min(1, Math.ceil(Math.max(...ratios) * 10) / 10 || 1);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const logMin = Math.log10(sizes[0]);
  const logSpan = Math.log10(sizes[sizes.length - 1]) - logMin || 1;
  const x = (size: number) => MARGIN.left + ((Math.log10(size) - logMin) / logSpan) * plotWidth;
  const y = (ratio: number) => MARGIN.top + (1 - (ratio - low) / (high - low || 1)) * plotHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotHeight}" x2="${MARGIN.left + plotWidth}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">cache size (objects, log scale)</text>`,
    `<text x="15" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 15 ${MARGIN.top + plotHeight / 2})">miss ratio</text>`,
  ];
  for (const size of sizes) {
    parts.push(`<text x="${x(size).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${size}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const ratio = low + ((high - low) * i) / 5;
    parts.push(`<text x="${MARGIN.left - 6}" y="${(y(ratio) + 4).toFixed(1)}" text-anchor="end">${ratio.toFixed(2)}</text>`);
  }
  policies.forEach((policy, i) => {
    const color = COLORS[i % COLORS.length];
    const points = results.filter((r) => r.policy === policy).sort((a, b) => a.size - b.size);
    const path = points.map((r) => `${x(r.size).toFixed(1)},${y(r.missRatio).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${path}"/>`);
    for (const r of points) parts.push(`<circle cx="${x(r.size).toFixed(1)}" cy="${y(r.missRatio).toFixed(1)}" r="3" fill="${color}"/>`);
    const legendY = MARGIN.top + 10 + i * 18;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 15}" y1="${legendY}" x2="${WIDTH - MARGIN.right + 35}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 40}" y="${legendY + 4}">${escape(policy)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
