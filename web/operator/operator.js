// The operator page: the local runtime's metrics (GET /_chirp/metrics, chirp.local.metrics), refreshed every two
// seconds. One card per row of the design's monitoring table (value over the last minute against its target and
// alarm threshold, and a chart of the values seen since the page opened), then every metric the functions emitted.

const SNAPSHOT_URL = "/_chirp/metrics";
const REFRESH_MS = 2000;
const HISTORY = 150; // points per chart: five minutes at one per two seconds

const history = new Map(); // row key -> [value | null]

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function format(value, unit) {
  if (value === null || value === undefined) return "–";
  const shown = Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
  return unit === "%" ? `${shown}%` : `${shown} ${unit}`;
}

function card(row) {
  const sign = row.alarm_when_below ? ["≥", "<"] : ["≤", ">"];
  const canvas = el("canvas", { width: "640", height: "180", role: "img", "aria-label": `${row.label} chart` });
  const section = el(
    "section",
    { class: "row", "aria-label": row.label, "data-key": row.key },
    el("span", { class: "badge" }),
    el("h3", {}, row.label),
    el("output", { class: "value" }),
    el("span", { class: "limits" }, `target ${sign[0]} ${row.target} ${row.unit} · alarm ${sign[1]} ${row.alarm} ${row.unit}`),
    canvas,
  );
  return section;
}

function draw(canvas, points, row) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const values = points.filter((v) => v !== null);
  const top = Math.max(row.alarm * 1.2, row.target * 1.2, ...values, 1);
  const y = (v) => height - 8 - (v / top) * (height - 16);
  const span = Math.max(points.length, 12) - 1; // a few points already spread over the chart
  const x = (i) => (i / span) * width;
  const styles = getComputedStyle(document.documentElement);
  ctx.lineWidth = 2;
  ctx.setLineDash([6, 4]);
  ctx.strokeStyle = styles.getPropertyValue("--alarm");
  ctx.beginPath();
  ctx.moveTo(0, y(row.alarm));
  ctx.lineTo(width, y(row.alarm));
  ctx.stroke();
  ctx.strokeStyle = styles.getPropertyValue("--ok");
  ctx.beginPath();
  ctx.moveTo(0, y(row.target));
  ctx.lineTo(width, y(row.target));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.strokeStyle = styles.getPropertyValue("--accent");
  ctx.lineWidth = 3;
  ctx.beginPath();
  let drawing = false;
  points.forEach((v, i) => {
    if (v === null) {
      drawing = false;
      return;
    }
    if (drawing) ctx.lineTo(x(i), y(v));
    else ctx.moveTo(x(i), y(v));
    drawing = true;
  });
  ctx.stroke();
  ctx.fillStyle = styles.getPropertyValue("--accent");
  points.forEach((v, i) => {
    if (v === null) return;
    ctx.beginPath();
    ctx.arc(x(i), y(v), 3, 0, 2 * Math.PI);
    ctx.fill();
  });
}

function renderRows(snapshot) {
  const container = document.getElementById("rows");
  for (const row of snapshot.monitoring) {
    let section = container.querySelector(`[data-key="${row.key}"]`);
    if (!section) {
      section = card(row);
      container.append(section);
    }
    const points = history.get(row.key) ?? [];
    points.push(row.value);
    if (points.length > HISTORY) points.shift();
    history.set(row.key, points);
    section.querySelector("output").textContent = format(row.value, row.unit);
    const badge = section.querySelector(".badge");
    badge.textContent = `${row.status} · ${row.samples} samples`;
    badge.className = `badge ${row.status.replace(" ", "-")}`;
    section.dataset.status = row.status;
    draw(section.querySelector("canvas"), points, row);
  }
}

function renderMetrics(snapshot) {
  const body = document.querySelector("#metrics tbody");
  const rows = snapshot.metrics.map((m) => {
    const dims = Object.entries(m.dimensions)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    const unit = m.unit === "Milliseconds" ? "ms" : "";
    const cell = (v) => el("td", {}, v === null ? "–" : `${v}${unit && v !== null ? " " + unit : ""}`);
    return el(
      "tr",
      { "data-metric": m.name },
      el("td", {}, m.name),
      el("td", {}, dims),
      el("td", {}, String(m.count)),
      el("td", {}, String(m.rate_per_s)),
      cell(m.p50),
      cell(m.p95),
      cell(m.max),
    );
  });
  body.replaceChildren(...rows);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch(SNAPSHOT_URL, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const snapshot = await response.json();
    renderRows(snapshot);
    renderMetrics(snapshot);
    const at = new Date(snapshot.at_ms).toLocaleTimeString();
    status.textContent = `Last ${snapshot.window_s} s, updated ${at} (${snapshot.documents} EMF documents so far)`;
  } catch (error) {
    status.textContent = `No metrics from ${SNAPSHOT_URL}: ${error.message}`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
