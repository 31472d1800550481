// chart.js: a sensor's temperature and battery over time (R-TEL-6), drawn
// with uPlot (vendored, see scripts/vendor-web.sh) on two scales, °C on the
// left and % on the right. The thresholds are series of their own, dashed
// horizontal lines on their metric's scale, so that the scale always holds
// them and a test reads them like the values. Dragging across the chart
// zooms in; a double-click or reset() shows everything again.
import uPlot from './vendor/uplot/uPlot.esm.js';

// The series after x, in the order of SensorChart's data.
export const seriesNames = ['temp', 'batt', 'tempMin', 'tempMax', 'battMin', 'battMax'];

const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

// join merges the points of the two metrics into uPlot's columns: one x
// (unix seconds) and a value or null per metric at each x.
export function join(temp, batt) {
  const at = new Map();
  const put = (points, i) => {
    for (const p of points || []) {
      const x = new Date(p.time).getTime() / 1000;
      if (!at.has(x)) at.set(x, [null, null]);
      at.get(x)[i] = p.mean;
    }
  };
  put(temp, 0);
  put(batt, 1);
  const xs = [...at.keys()].sort((a, b) => a - b);
  return [xs, xs.map((x) => at.get(x)[0]), xs.map((x) => at.get(x)[1])];
}

// SensorChart draws one sensor's chart in host.
export class SensorChart {
  constructor(host, { onZoom = () => {} } = {}) {
    this.host = host;
    this.onZoom = onZoom;
    this.columns = [[], [], []]; // x, temp, batt
    this.thresholds = {}; // tempMin … battMax: a number or null
    this.zoomed = false;
    const accent = css('--accent', '#2f6fde'), ok = css('--ok', '#1f8a4c'), danger = css('--danger', '#c7372f');
    const muted = css('--muted', '#5f6b7a'), line = css('--line', '#dde2e8');
    const axis = (scale, side, unit) => ({
      scale, side, stroke: muted, grid: { show: side === 3, stroke: line, width: 1 }, ticks: { stroke: line },
      values: (u, vals) => vals.map((v) => (v === null ? '' : `${+v.toFixed(2)}${unit}`)), size: 60,
    });
    const limit = (label, scale, colour) => ({
      label, scale, stroke: colour, width: 1, dash: [6, 4], points: { show: false }, spanGaps: true,
      value: (u, v) => (v === null || v === undefined ? '—' : String(v)),
    });
    const opts = {
      width: this.width(), height: 320,
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: true }, '°C': { auto: true }, '%': { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(100, max ?? 100)] } },
      axes: [{ stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line }, space: 90 }, axis('°C', 3, ' °C'), axis('%', 1, ' %')],
      series: [
        {},
        { label: 'Temperature', scale: '°C', stroke: accent, width: 2, spanGaps: true, points: { size: 5 }, value: (u, v) => (v === null ? '—' : `${v.toFixed(2)} °C`) },
        { label: 'Battery', scale: '%', stroke: ok, width: 2, spanGaps: true, points: { size: 5 }, value: (u, v) => (v === null ? '—' : `${v.toFixed(1)} %`) },
        limit('Temp. min', '°C', danger), limit('Temp. max', '°C', danger),
        limit('Batt. min', '%', muted), limit('Batt. max', '%', muted),
      ],
      hooks: {
        // A drag that selects a range zooms to it (uPlot does); a change of
        // the x scale to anything but all the data is a zoom.
        setScale: [(u, key) => {
          if (key !== 'x') return;
          const xs = this.columns[0];
          const all = !xs.length || (u.scales.x.min <= xs[0] && u.scales.x.max >= xs[xs.length - 1]);
          this.setZoomed(!all);
        }],
      },
    };
    this.plot = new uPlot(opts, this.data(), host);
    this.resize = new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: 320 }));
    this.resize.observe(host);
  }

  width() {
    return Math.max(320, Math.floor(this.host.getBoundingClientRect().width) || 800);
  }

  // data is uPlot's columns: x, the two metrics, and the four thresholds
  // repeated at every x (null where the bound is unset).
  data() {
    const [xs, temp, batt] = this.columns;
    const flat = (name) => {
      const v = this.thresholds[name];
      return xs.map(() => (v === null || v === undefined ? null : v));
    };
    return [xs, temp, batt, flat('tempMin'), flat('tempMax'), flat('battMin'), flat('battMax')];
  }

  setZoomed(z) {
    if (z === this.zoomed) return;
    this.zoomed = z;
    this.host.dataset.zoomed = String(z);
    this.onZoom(z);
  }

  redraw() {
    this.plot.setData(this.data(), !this.zoomed); // a zoomed chart stays where it is
    this.host.dataset.points = String(this.columns[0].length);
  }

  // setPoints replaces the data with the points of each metric.
  setPoints(temp, batt) {
    this.columns = join(temp, batt);
    this.redraw();
  }

  // append adds newer points: those at or after the first new one replace
  // what was there (the last bucket of a downsampled series grows), and
  // those older than since, when given, fall off the start.
  append(temp, batt, since) {
    const fresh = join(temp, batt);
    if (!fresh[0].length && since === undefined) return;
    const cut = fresh[0].length ? fresh[0][0] : Infinity;
    const keep = this.columns[0].findIndex((x) => x >= cut);
    const upTo = keep < 0 ? this.columns[0].length : keep;
    let start = 0;
    if (since !== undefined) while (start < upTo && this.columns[0][start] < since) start++;
    this.columns = this.columns.map((col, i) => col.slice(start, upTo).concat(fresh[i]));
    this.redraw();
  }

  // setThresholds sets the lines: {tempMin, tempMax, battMin, battMax}.
  setThresholds(t) {
    this.thresholds = { ...t };
    this.redraw();
  }

  // reset shows all the data again after a zoom.
  reset() {
    this.zoomed = false;
    this.host.dataset.zoomed = 'false';
    this.onZoom(false);
    this.redraw();
  }

  destroy() {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
