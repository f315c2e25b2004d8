// The smooth view: H.264 from xinit-go over a WebSocket, decoded with
// WebCodecs and drawn on a canvas; pointer and keyboard go back on the same
// WebSocket. A browser that cannot decode H.264 this way gets noVNC instead.
// The password stays in this page's memory: never in a URL, never stored,
// never sent (the page answers xinit-go's challenge with a key derived from it).

const LABEL = 'xinit-view login v1';

async function canDecode() {
  if (!window.isSecureContext || !('VideoDecoder' in window) || !crypto.subtle) {
    return false;
  }
  try {
    const r = await VideoDecoder.isConfigSupported({ codec: 'avc1.42c01f', optimizeForLatency: true });
    return r.supported === true;
  } catch (e) {
    return false;
  }
}

if (!(await canDecode())) {
  location.replace('novnc');
  throw new Error('no WebCodecs H.264 decoder: noVNC instead');
}

const body = document.body;
const statusEl = document.getElementById('status');
const form = document.getElementById('login');
const input = document.getElementById('password');
const canvas = document.getElementById('canvas');
const overlay = document.getElementById('overlay');
const g = canvas.getContext('2d', { alpha: false });

// What tests and the overlay read.
const stats = window.xinitView = {
  state: 'starting', codec: '', received: 0, decoded: 0, drawn: 0, skipped: 0,
  latencyMs: 0, fps: 0, width: 0, height: 0,
  firstPictureMs: 0, // from the welcome to the first picture drawn
};
let welcomed = 0;

let ws = null;
let password = null;   // what the user typed, kept for reconnects
let failed = false;    // the login failed: wait for the user
let retries = 0;
let timer = null;
let decoder = null;
let needKey = true;
let latencies = [];

function setState(state, text) {
  stats.state = state;
  body.dataset.state = state;
  statusEl.textContent = text;
}

function streamURL() {
  const u = new URL('stream', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return u.href;
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN && stats.state === 'connected') {
    ws.send(JSON.stringify(obj));
  }
}

function b64(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }

async function answer(hello, pw) {
  const enc = new TextEncoder();
  const base = await crypto.subtle.importKey('raw', enc.encode(pw), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: b64(hello.salt), iterations: hello.iterations }, base, 256);
  const key = await crypto.subtle.importKey('raw', bits, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const label = enc.encode(LABEL);
  const nonce = b64(hello.nonce);
  const msg = new Uint8Array(label.length + nonce.length);
  msg.set(label);
  msg.set(nonce, label.length);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, msg));
  return btoa(String.fromCharCode(...mac));
}

function askPassword(why) {
  form.hidden = false;
  input.value = '';
  input.focus();
  if (why) {
    setState('failed', why);
  } else {
    setState('password', 'xinit-go asks for the VNC password');
  }
}

let pendingHello = null;

async function login(hello) {
  try {
    ws.send(JSON.stringify({ type: 'login', mac: await answer(hello, password) }));
    setState('connecting', 'logging in…');
  } catch (e) {
    setState('failed', 'login: ' + e);
  }
}

function configure(codec) {
  if (decoder && decoder.state !== 'closed') {
    decoder.close();
  }
  stats.codec = codec;
  needKey = true;
  decoder = new VideoDecoder({
    output: draw,
    error: (e) => {
      // A broken decoder starts over at the next keyframe.
      console.warn('decoder:', e);
      configure(stats.codec);
    },
  });
  decoder.configure({ codec, optimizeForLatency: true });
}

function draw(frame) {
  stats.decoded++;
  const w = frame.displayWidth, h = frame.displayHeight;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    stats.width = w;
    stats.height = h;
  }
  g.drawImage(frame, 0, 0);
  if (welcomed) {
    stats.firstPictureMs = performance.now() - welcomed;
    welcomed = 0;
  }
  const lat = Date.now() - frame.timestamp / 1000;
  frame.close();
  stats.drawn++;
  stats.latencyMs = lat;
  latencies.push(lat);
}

function picture(buf) {
  stats.received++;
  if (!decoder || decoder.state !== 'configured') {
    return;
  }
  const dv = new DataView(buf);
  const key = (dv.getUint8(0) & 1) === 1;
  const ts = Number(dv.getBigUint64(1));
  // Behind by more than a few pictures: skip to the next keyframe.
  if (!key && (needKey || decoder.decodeQueueSize > 4)) {
    needKey = true;
    stats.skipped++;
    return;
  }
  needKey = false;
  decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: ts, data: new Uint8Array(buf, 9) }));
}

function onText(m) {
  switch (m.type) {
    case 'hello':
      if (m.auth === 'none') {
        return;
      }
      pendingHello = m;
      if (password !== null) {
        login(m);
      } else {
        askPassword();
      }
      return;
    case 'denied':
      failed = true;
      password = null;
      askPassword('failed: ' + (m.reason || 'login refused'));
      return;
    case 'welcome':
      retries = 0;
      form.hidden = true;
      window.xinitConnects = (window.xinitConnects || 0) + 1;
      welcomed = performance.now();
      setState('connected', 'connected');
      canvas.focus();
      return;
    case 'config':
      configure(m.codec);
      return;
    case 'bye':
      setState('disconnected', m.reason || 'xinit-go closed the view');
      return;
  }
}

function connect() {
  clearTimeout(timer);
  timer = null;
  failed = false;
  pendingHello = null;
  setState('connecting', 'connecting…');
  ws = new WebSocket(streamURL(), 'xinit-view');
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') {
      onText(JSON.parse(e.data));
    } else {
      picture(e.data);
    }
  };
  ws.onclose = () => {
    ws = null;
    releaseAll();
    if (decoder && decoder.state !== 'closed') {
      decoder.close();
    }
    decoder = null;
    if (failed || (!form.hidden && password === null)) {
      return; // waiting for the password
    }
    const wait = Math.min(1000 * 2 ** retries, 10000);
    retries = Math.min(retries + 1, 4);
    setState('disconnected', 'disconnected; reconnecting in ' + Math.round(wait / 1000) + ' s');
    timer = setTimeout(connect, wait);
  };
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  password = input.value;
  input.value = '';
  form.hidden = true;
  if (ws && pendingHello && !failed) {
    login(pendingHello);
  } else {
    connect();
  }
});

// Once a second: the overlay, and the median latency for xinit-go's /metrics.
let lastDrawn = 0;
setInterval(() => {
  stats.fps = stats.drawn - lastDrawn;
  lastDrawn = stats.drawn;
  let median = 0;
  if (latencies.length) {
    latencies.sort((a, b) => a - b);
    median = latencies[Math.floor(latencies.length / 2)];
    send({ t: 'l', ms: median });
  }
  latencies = [];
  if (!overlay.hidden) {
    overlay.textContent = `${stats.fps} fps  ${Math.round(median)} ms\n${stats.width}x${stats.height} ${stats.codec}\nskipped ${stats.skipped}`;
  }
}, 1000);

const statsButton = document.getElementById('stats');
function showStats(on) {
  overlay.hidden = !on;
  statsButton.textContent = on ? 'hide stats' : 'stats';
}
statsButton.addEventListener('click', () => showStats(overlay.hidden));
showStats(location.hash === '#stats');

// Input: the pointer at fractions of the picture (the canvas is scaled to the
// window, letterboxed), X button numbers, X keysyms.
function where(e) {
  const r = canvas.getBoundingClientRect();
  if (!canvas.width || !canvas.height) {
    return null;
  }
  const s = Math.min(r.width / canvas.width, r.height / canvas.height);
  const w = canvas.width * s, h = canvas.height * s;
  const x = (e.clientX - r.left - (r.width - w) / 2) / w;
  const y = (e.clientY - r.top - (r.height - h) / 2) / h;
  return { x: Math.min(1, Math.max(0, x)), y: Math.min(1, Math.max(0, y)) };
}

const BUTTONS = { 0: 1, 1: 2, 2: 3 };

canvas.addEventListener('pointermove', (e) => {
  const p = where(e);
  if (p) {
    send({ t: 'm', x: p.x, y: p.y });
  }
});
canvas.addEventListener('pointerdown', (e) => {
  canvas.focus();
  const p = where(e);
  const b = BUTTONS[e.button];
  if (p && b) {
    canvas.setPointerCapture(e.pointerId);
    send({ t: 'b', b, d: 1, x: p.x, y: p.y });
    e.preventDefault();
  }
});
canvas.addEventListener('pointerup', (e) => {
  const p = where(e);
  const b = BUTTONS[e.button];
  if (p && b) {
    send({ t: 'b', b, d: 0, x: p.x, y: p.y });
    e.preventDefault();
  }
});
canvas.addEventListener('contextmenu', (e) => e.preventDefault());
canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  const clicks = [];
  if (e.deltaY) clicks.push(e.deltaY < 0 ? 4 : 5);
  if (e.deltaX) clicks.push(e.deltaX < 0 ? 6 : 7);
  for (const b of clicks) {
    send({ t: 'b', b, d: 1 });
    send({ t: 'b', b, d: 0 });
  }
}, { passive: false });

const KEYSYMS = {
  Escape: 0xff1b, Enter: 0xff0d, Backspace: 0xff08, Tab: 0xff09, Delete: 0xffff, Insert: 0xff63,
  Home: 0xff50, End: 0xff57, PageUp: 0xff55, PageDown: 0xff56,
  ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54,
  CapsLock: 0xffe5, NumLock: 0xff7f, ScrollLock: 0xff14, Pause: 0xff13, PrintScreen: 0xff61,
  ContextMenu: 0xff67, AltGraph: 0xfe03, Clear: 0xff0b,
};
const SIDED = {
  Shift: [0xffe1, 0xffe2], Control: [0xffe3, 0xffe4], Alt: [0xffe9, 0xffea], Meta: [0xffeb, 0xffec],
};

function keysym(e) {
  if (SIDED[e.key]) {
    return SIDED[e.key][e.code.endsWith('Right') ? 1 : 0];
  }
  if (KEYSYMS[e.key]) {
    return KEYSYMS[e.key];
  }
  const f = /^F([0-9]{1,2})$/.exec(e.key);
  if (f && +f[1] >= 1 && +f[1] <= 24) {
    return 0xffbe + (+f[1] - 1);
  }
  const cps = [...e.key];
  if (cps.length === 1) {
    const c = cps[0].codePointAt(0);
    // Latin-1 keysyms are the code points; the rest of Unicode is 0x01000000 + U.
    return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) ? c : 0x01000000 + c;
  }
  return 0;
}

const down = new Map(); // KeyboardEvent.code -> keysym pressed

function releaseAll() {
  for (const sym of down.values()) {
    send({ t: 'k', s: sym, d: 0 });
  }
  down.clear();
}

canvas.addEventListener('keydown', (e) => {
  const sym = down.get(e.code) || keysym(e);
  if (!sym) {
    return;
  }
  e.preventDefault();
  down.set(e.code, sym);
  send({ t: 'k', s: sym, d: 1 });
});
canvas.addEventListener('keyup', (e) => {
  const sym = down.get(e.code);
  if (sym === undefined) {
    return;
  }
  e.preventDefault();
  down.delete(e.code);
  send({ t: 'k', s: sym, d: 0 });
});
canvas.addEventListener('blur', releaseAll);

connect();
