// A small inline-SVG line chart of percentages (0–100) by category; no library.
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function lineChart(labels, series, emptyText = "") {
  const W = 460;
  const H = 260;
  const left = 40;
  const right = 26;
  const top = 16;
  const bottom = 56;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", class: "chart", id: "report-svg" });
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const x = (i) => left + (labels.length === 1 ? plotW / 2 : (i * plotW) / (labels.length - 1));
  const y = (v) => top + plotH - (v / 100) * plotH;
  for (const v of [0, 25, 50, 75, 100]) {
    svg.append(el("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#ddd" }));
    svg.append(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#666" }, `${v}%`));
  }
  labels.forEach((label, i) => {
    svg.append(el("text", { x: x(i), y: H - bottom + 16, "text-anchor": "middle", "font-size": 10, fill: "#444" }, label));
  });
  let any = false;
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(Number(v))]));
    let path = "";
    points.forEach((p, i) => {
      if (!p) return;
      any = true;
      path += `${path && points[i - 1] ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
      svg.append(el("circle", { cx: p[0], cy: p[1], r: 3.5, fill: s.colour }, undefined));
      const title = el("title", {}, `${s.name} ${labels[i]}: ${Number(s.values[i]).toFixed(1)}%`);
      svg.lastChild.append(title);
    });
    if (path) svg.append(el("path", { d: path.trim(), fill: "none", stroke: s.colour, "stroke-width": 2, class: "series" }));
    const ly = H - 22 + 0;
    const lx = left + k * 200;
    svg.append(el("rect", { x: lx, y: ly, width: 12, height: 12, fill: s.colour }));
    svg.append(el("text", { x: lx + 18, y: ly + 10, "font-size": 11, fill: "#222" }, s.name));
  });
  if (!any && emptyText) {
    svg.append(el("text", { x: W / 2, y: top + plotH / 2, "text-anchor": "middle", fill: "#888", "font-size": 13 }, emptyText));
  }
  return svg;
}
