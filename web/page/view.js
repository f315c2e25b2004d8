// The browser view: connect noVNC to this server's bridge, ask for the VNC
// password when x11vnc wants one, and reconnect after x11vnc restarts. The
// password stays in this page's memory: never in a URL, never stored.
import RFB from './core/rfb.js';

const body = document.body;
const statusEl = document.getElementById('status');
const form = document.getElementById('login');
const input = document.getElementById('password');
const screen = document.getElementById('screen');

let rfb = null;
let password = null;   // what the user typed, kept for reconnects
let failed = false;    // authentication failed: wait for the user
let retries = 0;
let timer = null;

function setState(state, text) {
  body.dataset.state = state;
  statusEl.textContent = text;
}

function bridgeURL() {
  const u = new URL('websockify', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return u.href;
}

function askPassword(why) {
  form.hidden = false;
  input.value = '';
  input.focus();
  if (why) {
    setState('failed', why);
  } else {
    setState('password', 'VNC asks for a password');
  }
}

function connect() {
  clearTimeout(timer);
  timer = null;
  failed = false;
  setState('connecting', 'connecting…');
  const opts = { wsProtocols: ['binary'] };
  if (password !== null) {
    opts.credentials = { password };
  }
  rfb = new RFB(screen, bridgeURL(), opts);
  rfb.scaleViewport = true;
  rfb.background = '#202124';
  rfb.addEventListener('connect', () => {
    retries = 0;
    form.hidden = true;
    window.xinitConnects = (window.xinitConnects || 0) + 1;
    setState('connected', 'connected');
  });
  rfb.addEventListener('credentialsrequired', () => {
    if (password !== null) {
      rfb.sendCredentials({ password });
    } else {
      askPassword();
    }
  });
  rfb.addEventListener('securityfailure', (e) => {
    failed = true;
    password = null;
    const reason = e.detail.reason || 'authentication failed';
    askPassword('failed: ' + reason);
  });
  rfb.addEventListener('disconnect', () => {
    rfb = null;
    if (failed) {
      return;
    }
    if (!form.hidden && password === null) {
      return; // waiting for the password
    }
    // x11vnc restarting, or the bridge turned us away for now: try again.
    const wait = Math.min(1000 * 2 ** retries, 10000);
    retries = Math.min(retries + 1, 4);
    setState('disconnected', 'disconnected; reconnecting in ' + Math.round(wait / 1000) + ' s');
    timer = setTimeout(connect, wait);
  });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  password = input.value;
  input.value = '';
  form.hidden = true;
  if (rfb !== null && !failed) {
    rfb.sendCredentials({ password });
  } else {
    connect();
  }
});

connect();
