/** The inspector's one page; its script (dist/page/app.js) renders the views from the event stream. */
export function pageHtml(o: { token: string; writes: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="etcdkit-token" content="${o.token}">
<meta name="etcdkit-writes" content="${o.writes ? 'on' : 'off'}">
<link rel="icon" href="data:,">
${['state', 'model', 'views', 'config-view', 'diff'].map((m) => `<link rel="modulepreload" href="/app/${m}.js">`).join('\n')}
<title>etcdkit ui</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <strong>etcdkit ui</strong>
  <nav id="tabs">
    <button data-view="locks">Locks</button>
    <button data-view="elections">Elections</button>
    <button data-view="sessions">Sessions</button>
    <button data-view="config">Config</button>
    <button data-view="cluster">Cluster</button>
    <button data-view="discovery">Discovery</button>
    <button data-view="queues">Queues</button>
  </nav>
  <span id="conn" class="muted">connecting…</span>
  <span id="rev" class="muted"></span>
</header>
<main id="view"></main>
<script type="module" src="/app/app.js"></script>
</body>
</html>
`;
}

const CSS = `
:root { --fg:#1d2330; --muted:#6b7280; --line:#e3e6eb; --accent:#2457c5; --ok:#187a3a; --bad:#b42318; --warn:#9a6700; --bg2:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); }
header { display:flex; gap:16px; align-items:center; padding:8px 16px; border-bottom:1px solid var(--line); background:var(--bg2); position:sticky; top:0; }
nav button { border:0; background:none; padding:6px 10px; cursor:pointer; font:inherit; border-radius:4px; }
nav button.active { background:var(--accent); color:#fff; }
main { padding:12px 16px; }
h2 { font-size:15px; margin:16px 0 6px; }
h2 .kind { font-weight:normal; color:var(--muted); font-size:12px; margin-left:6px; }
table { border-collapse:collapse; margin:4px 0 12px; }
th, td { text-align:left; padding:3px 10px 3px 0; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; color:var(--muted); font-size:12px; }
code, .mono, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
pre { margin:0; white-space:pre-wrap; word-break:break-all; }
.muted { color:var(--muted); }
.ok { color:var(--ok); } .bad { color:var(--bad); font-weight:600; } .warn { color:var(--warn); }
.holder td:first-child::before { content:"● "; color:var(--ok); }
.waiter td:first-child::before { content:"○ "; color:var(--muted); }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 12px; margin-bottom:10px; }
.empty { color:var(--muted); padding:12px 0; }
button.act { font-size:12px; padding:1px 6px; cursor:pointer; }
.cols { display:flex; gap:16px; align-items:flex-start; }
.cols > * { flex:1; min-width:0; }
#tree { height:60vh; overflow:auto; border:1px solid var(--line); position:relative; }
#tree .row { position:absolute; left:0; right:0; height:22px; line-height:22px; padding:0 8px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; cursor:pointer; }
#tree .row:hover { background:var(--bg2); }
#tree .row.sel { background:#dbe6fb; }
#tree .dir { color:var(--accent); }
.diff .add { background:#e6f6ea; } .diff .del { background:#fde8e8; }
.diff div { white-space:pre-wrap; word-break:break-all; font-family: ui-monospace, monospace; font-size:12px; }
.timeline li { margin:2px 0; }
input[type=text] { font:inherit; padding:3px 6px; width:320px; }
`;
