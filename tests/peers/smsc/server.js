#!/usr/bin/env node
// A controllable SMSC for the SMS channel's tests, built on node-smpp (server mode).
//
//   node server.js [--port N] [--control-port N] [--system-id ID] [--password PW]
//   (or SMSC_PORT, SMSC_CONTROL_PORT, SMSC_SYSTEM_ID, SMSC_PASSWORD; port 0 = any)
//
// Listens on 127.0.0.1 and prints `READY <smpp_port> <control_port>` once both
// listeners are up. The control channel is HTTP/JSON on the second port; see
// README.md for the routes and the script keys.
'use strict';

const http = require('http');
const smpp = require('smpp');

const HOST = '127.0.0.1';

// --- configuration ---------------------------------------------------------

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const config = {
  port: Number(args.port ?? process.env.SMSC_PORT ?? 0),
  controlPort: Number(args['control-port'] ?? process.env.SMSC_CONTROL_PORT ?? 0),
  systemId: args['system-id'] ?? process.env.SMSC_SYSTEM_ID ?? 'gateway',
  password: args.password ?? process.env.SMSC_PASSWORD ?? 'secret',
};

// Keep short_message and message_payload as raw bytes when decoding, so the
// record shows exactly what the ESME sent (node-smpp would decode to text and
// split off the UDH). Encoding a Buffer is a pass-through either way.
for (const command of ['submit_sm', 'deliver_sm', 'data_sm']) {
  const param = smpp.commands[command].params && smpp.commands[command].params.short_message;
  if (param && param.filter) param.filter = { encode: param.filter.encode, decode: (v) => v };
}
smpp.tlvs.message_payload.filter = {
  encode: smpp.tlvs.message_payload.filter.encode,
  decode: (v) => v,
};

const MESSAGE_STATE = {
  ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8,
};

// --- state -----------------------------------------------------------------

const DEFAULT_SCRIPT = Object.freeze({
  message_id_style: 'decimal', // 'decimal' | 'hex' (uppercase, zero-padded to message_id_width) | 'empty' (accepted, no id)
  message_id_width: 10,
  message_id_start: 655360, // 0x000A0000: hex ids have a letter and leading zeros
  submit_status: 0, // status of every submit_sm_resp, unless next_submit_statuses says otherwise
  next_submit_statuses: [], // consumed one per submit_sm, e.g. [88, 88] = two throttles
  submit_delay_ms: 0, // delay of every submit_sm_resp
  next_submit_delays_ms: [], // consumed one per submit_sm (different delays = out of order)
  reorder_window: 0, // hold this many submit_sm_resps, then send them in reverse order
  auto_receipt: null, // null | 'after' | 'before' (the submit_sm_resp); when registered_delivery asks
  receipt_stat: 'DELIVRD',
  receipt_err: '000',
  receipt_delay_ms: 0,
  receipt_id_format: 'as_sent', // 'as_sent' | 'lower' | 'decimal' | 'hex' | 'hex_lower' | 'unpadded'
  mo_to: 'latest', // 'latest' | 'round_robin': the bound session /mo and /receipt use when none is named
  drop_on_next_submits: 0, // record that many submit_sm, then drop the connection unanswered
  refuse_binds: 0, // refuse that many binds with refuse_status ...
  refuse_binds_for_ms: 0, // ... or every bind for that long (counted from the /script call)
  refuse_status: 0x0d, // ESME_RBINDFAIL
  answer_enquire_link: true,
  silent: false, // answer nothing at all (PDUs are still recorded)
});

let script;
let records;
let nextMessageId;
let refuseUntil = 0;
let heldResponses = [];
let sessionCounter = 0;
const sessions = new Set();

function reset() {
  script = { ...DEFAULT_SCRIPT, next_submit_statuses: [], next_submit_delays_ms: [] };
  records = {
    connections: 0,
    disconnects: 0,
    binds: [],
    submits: [],
    deliver_sms: [], // what we sent: {session, sequence, kind, message_id?}
    deliver_sm_resps: [],
    enquire_links: 0,
    enquire_link_resps: 0,
    unbinds_received: 0,
    unbinds_sent: [],
    unbind_resps: [],
    generic_nacks: 0,
    other_pdus: [],
  };
  nextMessageId = script.message_id_start;
  refuseUntil = 0;
  heldResponses = [];
}
reset();

function boundSessions() {
  return [...sessions].filter((s) => s.bound && !s.socket.destroyed);
}

function publicState() {
  return {
    ...records,
    bound: boundSessions().length,
    sessions: [...sessions].map((s) => ({ id: s.id, bound: s.bound, system_id: s.systemId })),
    script,
    config: { system_id: config.systemId },
  };
}

// --- helpers ---------------------------------------------------------------

function jsonable(value) {
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (Array.isArray(value)) return value.map(jsonable);
  return value;
}

function tlvsOf(pdu) {
  const out = {};
  for (const key of Object.keys(pdu)) {
    if (key in smpp.tlvs) out[key] = jsonable(pdu[key]);
    else if (/^\d+$/.test(key)) out[`0x${Number(key).toString(16).padStart(4, '0')}`] = jsonable(pdu[key]);
  }
  return out;
}

function decodeText(bytes, dataCoding) {
  switch (dataCoding & 0x0f) {
    case 8: return smpp.encodings.UCS2.decode(bytes);
    case 3: return smpp.encodings.LATIN1.decode(bytes);
    case 1: return bytes.toString('latin1');
    case 0: return smpp.encodings.ASCII.decode(bytes);
    default: return null;
  }
}

function formatMessageId(n) {
  if (script.message_id_style === 'empty') return '';
  if (script.message_id_style === 'hex') {
    return n.toString(16).toUpperCase().padStart(script.message_id_width, '0');
  }
  return String(n);
}

// The same id written the way a different SMSC (or a receipt) might write it.
function reformatId(id, format) {
  const value = script.message_id_style === 'hex' ? parseInt(id, 16) : parseInt(id, 10);
  switch (format) {
    case 'as_sent': return id;
    case 'lower': return id.toLowerCase();
    case 'decimal': return String(value);
    case 'hex': return value.toString(16).toUpperCase().padStart(script.message_id_width, '0');
    case 'hex_lower': return value.toString(16);
    case 'unpadded': return id.replace(/^0+(?=.)/, '');
    default: throw new Error(`unknown id format ${format}`);
  }
}

function smppDate(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}`
    + `${p(date.getUTCHours())}${p(date.getUTCMinutes())}`;
}

function encodeText(text, encoding) {
  switch (encoding) {
    case 'ucs2': return { dataCoding: 8, bytes: smpp.encodings.UCS2.encode(text) };
    case 'latin1': return { dataCoding: 3, bytes: smpp.encodings.LATIN1.encode(text) };
    case 'gsm': return { dataCoding: 0, bytes: smpp.encodings.ASCII.encode(text) };
    case 'ascii': return { dataCoding: 1, bytes: Buffer.from(text, 'ascii') };
    default: throw new Error(`unknown encoding ${encoding}`);
  }
}

function pickSession(body) {
  const bound = boundSessions();
  if (body && body.session !== undefined) {
    const s = bound.find((x) => x.id === body.session);
    if (!s) throw new Error(`session ${body.session} is not bound`);
    return s;
  }
  if (!bound.length) throw new Error('no bound session');
  if (script.mo_to === 'round_robin') {
    roundRobin = (roundRobin + 1) % bound.length;
    return bound[roundRobin];
  }
  return bound[bound.length - 1];
}

let roundRobin = -1;

// Wall-clock seconds with sub-millisecond precision (Date.now() counts whole ms), for
// the times the peer stamps on what it sends and receives.
function nowSeconds() {
  return (performance.timeOrigin + performance.now()) / 1000;
}

function sendDeliverSm(session, fields, meta) {
  const pdu = new smpp.PDU('deliver_sm', fields);
  session.send(pdu);
  const record = { session: session.id, sequence: pdu.sequence_number, at: nowSeconds(), ...meta };
  records.deliver_sms.push(record);
  return record;
}

// --- delivery receipts -----------------------------------------------------

function sendReceipt(session, submit, opts) {
  const stat = opts.stat ?? script.receipt_stat;
  const format = opts.id_format ?? script.receipt_id_format;
  const id = opts.message_id !== undefined ? String(opts.message_id) : reformatId(submit.message_id, format);
  const tlvId = opts.receipted_message_id !== undefined ? opts.receipted_message_id : id;
  const now = smppDate(new Date());
  const original = submit && submit.text ? submit.text.slice(0, 20) : '';
  const text = opts.text ?? `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} `
    + `submit date:${now} done date:${now} stat:${stat} err:${opts.err ?? script.receipt_err} `
    + `text:${/^[\x20-\x7e]*$/.test(original) ? original : ''}`;
  const fields = {
    service_type: '',
    source_addr_ton: submit ? submit.dest_addr_ton : 1,
    source_addr_npi: submit ? submit.dest_addr_npi : 1,
    source_addr: opts.source_addr ?? (submit ? submit.destination_addr : ''),
    dest_addr_ton: submit ? submit.source_addr_ton : 0,
    dest_addr_npi: submit ? submit.source_addr_npi : 0,
    destination_addr: opts.destination_addr ?? (submit ? submit.source_addr : ''),
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.from(text, 'ascii'),
  };
  if (opts.tlvs !== false) {
    if (tlvId !== null) fields.receipted_message_id = tlvId;
    if (MESSAGE_STATE[stat]) fields.message_state = MESSAGE_STATE[stat];
  }
  return sendDeliverSm(session, fields, { kind: 'receipt', message_id: id, stat, text });
}

// --- submit_sm ---------------------------------------------------------------

function sendSubmitResp(session, pdu, submit) {
  const resp = submit.status
    ? pdu.response({ command_status: submit.status })
    : pdu.response({ message_id: submit.message_id });
  if (!session.socket.destroyed) session.send(resp);
  submit.answered = true;
}

function queueSubmitResp(session, pdu, submit, delayMs) {
  const release = () => {
    if (script.reorder_window > 1) {
      heldResponses.push(() => sendSubmitResp(session, pdu, submit));
      if (heldResponses.length >= script.reorder_window) {
        const batch = heldResponses.reverse();
        heldResponses = [];
        batch.forEach((send) => send());
      }
    } else {
      sendSubmitResp(session, pdu, submit);
    }
  };
  if (delayMs > 0) setTimeout(release, delayMs);
  else release();
}

function onSubmitSm(session, pdu) {
  const raw = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  const payload = Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload : null;
  const body = raw.length ? raw : (payload || raw);
  const udhi = (pdu.esm_class & 0x40) && body.length > 0;
  const udh = udhi ? body.slice(0, body[0] + 1) : Buffer.alloc(0);
  const submit = {
    session: session.id,
    sequence: pdu.sequence_number,
    service_type: pdu.service_type,
    source_addr_ton: pdu.source_addr_ton,
    source_addr_npi: pdu.source_addr_npi,
    source_addr: pdu.source_addr,
    dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi,
    destination_addr: pdu.destination_addr,
    esm_class: pdu.esm_class,
    registered_delivery: pdu.registered_delivery,
    data_coding: pdu.data_coding,
    short_message: raw.toString('hex'),
    udh: udh.toString('hex'),
    text: decodeText(body.slice(udh.length), pdu.data_coding),
    tlvs: tlvsOf(pdu),
    message_id: null,
    status: 0,
    answered: false,
    at: nowSeconds(),
  };
  records.submits.push(submit);

  if (!session.bound) {
    submit.status = smpp.ESME_RINVBNDSTS;
    return sendSubmitResp(session, pdu, submit);
  }
  if (script.drop_on_next_submits > 0) {
    script.drop_on_next_submits -= 1;
    session.socket.destroy();
    return undefined;
  }
  if (script.silent) return undefined;

  submit.status = script.next_submit_statuses.length
    ? script.next_submit_statuses.shift()
    : script.submit_status;
  if (!submit.status) submit.message_id = formatMessageId(nextMessageId++);
  const delayMs = script.next_submit_delays_ms.length
    ? script.next_submit_delays_ms.shift()
    : script.submit_delay_ms;

  const wantsReceipt = !submit.status && script.auto_receipt && (pdu.registered_delivery & 0x03);
  if (wantsReceipt && script.auto_receipt === 'before') {
    sendReceipt(session, submit, {});
    queueSubmitResp(session, pdu, submit, delayMs);
  } else {
    queueSubmitResp(session, pdu, submit, delayMs);
    if (wantsReceipt) {
      setTimeout(() => {
        if (!session.socket.destroyed) sendReceipt(session, submit, {});
      }, delayMs + script.receipt_delay_ms);
    }
  }
  return undefined;
}

// --- binds and the rest of the session -------------------------------------

function onBind(session, pdu) {
  const record = {
    session: session.id, command: pdu.command, system_id: pdu.system_id,
    system_type: pdu.system_type, interface_version: pdu.interface_version, status: 0,
  };
  records.binds.push(record);
  if (script.silent) {
    record.status = null;
    return;
  }
  if (session.bound) record.status = smpp.ESME_RALYBND;
  else if (script.refuse_binds > 0) {
    script.refuse_binds -= 1;
    record.status = script.refuse_status;
  } else if (Date.now() < refuseUntil) record.status = script.refuse_status;
  else if (pdu.system_id !== config.systemId) record.status = smpp.ESME_RINVSYSID;
  else if (pdu.password !== config.password) record.status = smpp.ESME_RINVPASWD;

  if (record.status) {
    session.send(pdu.response({ command_status: record.status }));
    return;
  }
  session.bound = true;
  session.systemId = pdu.system_id;
  session.send(pdu.response({ system_id: 'node-smpp-peer' }));
}

function onSession(session) {
  session.id = ++sessionCounter;
  session.bound = false;
  sessions.add(session);
  records.connections += 1;
  session.on('close', () => {
    sessions.delete(session);
    records.disconnects += 1;
  });
  session.on('error', () => {}); // a reset connection is part of the tests, not a crash

  session.on('pdu', (pdu) => {
    // A connection this end has reset reads nothing more: PDUs that arrived in the same
    // chunk as the one that made it drop never reached a real SMSC's application.
    if (session.socket.destroyed) return undefined;
    switch (pdu.command) {
      case 'bind_transceiver':
      case 'bind_transmitter':
      case 'bind_receiver':
        return onBind(session, pdu);
      case 'submit_sm':
        return onSubmitSm(session, pdu);
      case 'enquire_link':
        records.enquire_links += 1;
        if (!script.silent && script.answer_enquire_link) session.send(pdu.response());
        return undefined;
      case 'enquire_link_resp':
        records.enquire_link_resps += 1;
        return undefined;
      case 'deliver_sm_resp': {
        const sent = records.deliver_sms.find(
          (d) => d.session === session.id && d.sequence === pdu.sequence_number,
        );
        records.deliver_sm_resps.push({
          session: session.id, sequence: pdu.sequence_number, status: pdu.command_status,
          kind: sent ? sent.kind : null, message_id: sent ? sent.message_id ?? null : null,
        });
        return undefined;
      }
      case 'unbind':
        records.unbinds_received += 1;
        if (script.silent) return undefined;
        session.bound = false;
        session.send(pdu.response(), () => session.close());
        return undefined;
      case 'unbind_resp':
        records.unbind_resps.push({ session: session.id, status: pdu.command_status });
        session.bound = false;
        session.close();
        return undefined;
      case 'generic_nack':
        records.generic_nacks += 1;
        return undefined;
      default:
        records.other_pdus.push({ session: session.id, command: pdu.command, sequence: pdu.sequence_number });
        if (!script.silent && !pdu.isResponse()) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
        }
        return undefined;
    }
  });
}

// --- control channel ---------------------------------------------------------

function splitParts(text, partChars) {
  const chars = Array.from(text);
  const parts = [];
  for (let i = 0; i < chars.length; i += partChars) parts.push(chars.slice(i, i + partChars).join(''));
  return parts.length ? parts : [''];
}

let moReference = 0;

function sendMo(body) {
  const session = pickSession(body);
  const text = body.text ?? '';
  const encoding = body.encoding
    ?? (/^[\x20-\x7e\n\r]*$/.test(text) ? 'gsm' : 'ucs2');
  const split = body.split ?? null; // null | 'udh' | 'sar' | 'payload'
  const base = {
    service_type: '',
    source_addr_ton: body.source_addr_ton ?? 1,
    source_addr_npi: body.source_addr_npi ?? 1,
    source_addr: body.source_addr ?? '9647701234567',
    dest_addr_ton: body.dest_addr_ton ?? 0,
    dest_addr_npi: body.dest_addr_npi ?? 0,
    destination_addr: body.destination_addr ?? '74747',
    esm_class: body.esm_class ?? 0,
  };
  if (body.short_message_hex !== undefined) {
    const fields = { ...base, data_coding: body.data_coding ?? 0, short_message: Buffer.from(body.short_message_hex, 'hex') };
    return [sendDeliverSm(session, fields, { kind: 'mo' })];
  }
  if (split === 'payload') {
    const { dataCoding, bytes } = encodeText(text, encoding);
    const fields = { ...base, data_coding: body.data_coding ?? dataCoding, short_message: Buffer.alloc(0), message_payload: bytes };
    return [sendDeliverSm(session, fields, { kind: 'mo' })];
  }
  const partChars = body.part_chars ?? (encoding === 'ucs2' ? 67 : 153);
  const texts = split ? splitParts(text, partChars) : [text];
  const reference = body.reference ?? ((moReference++ % 255) + 1);
  const order = texts.map((_, i) => i);
  if (body.reverse_parts) order.reverse();
  return order.map((i) => {
    const { dataCoding, bytes } = encodeText(texts[i], encoding);
    const fields = { ...base, data_coding: body.data_coding ?? dataCoding };
    if (split === 'udh') {
      const udh = Buffer.from([0x05, 0x00, 0x03, reference & 0xff, texts.length, i + 1]);
      fields.esm_class |= 0x40;
      fields.short_message = Buffer.concat([udh, bytes]);
    } else {
      fields.short_message = bytes;
      if (split === 'sar') {
        fields.sar_msg_ref_num = reference;
        fields.sar_total_segments = texts.length;
        fields.sar_segment_seqnum = i + 1;
      }
    }
    return sendDeliverSm(session, fields, { kind: 'mo', part: i + 1, parts: texts.length });
  });
}

function receipt(body) {
  const session = pickSession(body);
  let submit = null;
  if (body.message_id === undefined || body.submit !== undefined) {
    const accepted = records.submits.filter((s) => s.message_id);
    const index = body.submit ?? -1;
    submit = accepted[index < 0 ? accepted.length + index : index];
    if (!submit) throw new Error('no accepted submit_sm to send a receipt for');
  }
  return sendReceipt(session, submit, body);
}

function applyScript(body) {
  for (const key of Object.keys(body)) {
    if (!(key in DEFAULT_SCRIPT)) throw new Error(`unknown script key ${key}`);
  }
  Object.assign(script, body);
  if ('message_id_start' in body) nextMessageId = body.message_id_start;
  if ('refuse_binds_for_ms' in body) refuseUntil = Date.now() + body.refuse_binds_for_ms;
  if (body.reorder_window !== undefined && body.reorder_window <= 1 && heldResponses.length) {
    const held = heldResponses;
    heldResponses = [];
    held.forEach((send) => send());
  }
  return script;
}

const routes = {
  'GET /state': () => publicState(),
  'POST /script': (body) => applyScript(body),
  'POST /reset': () => { reset(); return { ok: true }; },
  // The state, then its lists emptied in the same turn of the event loop (nothing
  // recorded in between is lost): a long run (bench/soak.py) reads the records in pieces.
  'POST /take': () => {
    const taken = publicState(); // holds the lists themselves: they are replaced, not emptied
    for (const [name, value] of Object.entries(records)) {
      if (Array.isArray(value)) records[name] = [];
    }
    return taken;
  },
  'POST /mo': (body) => ({ sent: sendMo(body) }),
  // The bound sessions and the deliver_sm_resps from index `after` on: what a driver
  // redelivering unanswered MO polls, without the whole state's submits each time.
  'POST /resps': (body) => ({
    bound: boundSessions().map((s) => s.id),
    resps: records.deliver_sm_resps.slice(body.after ?? 0),
    count: records.deliver_sm_resps.length,
  }),
  // Several MOs in one call (a flood in a benchmark): the last PDU's record of each.
  'POST /mos': (body) => ({ sent: body.mos.map((mo) => { const s = sendMo(mo); return s[s.length - 1]; }) }),
  'POST /receipt': (body) => ({ sent: receipt(body) }),
  'POST /unbind': (body) => {
    const session = pickSession(body);
    const pdu = new smpp.PDU('unbind');
    session.send(pdu);
    const record = { session: session.id, sequence: pdu.sequence_number };
    records.unbinds_sent.push(record);
    return record;
  },
  // Bytes written as they are, for PDUs node-smpp would not build (a truncated TLV):
  // recorded among the deliver_sms (kind `raw`) so that their answer is matched.
  'POST /raw': (body) => {
    const session = pickSession(body);
    const bytes = Buffer.from(body.hex, 'hex');
    const sequence = bytes.length >= 16 ? bytes.readUInt32BE(12) : null;
    session.socket.write(bytes);
    const record = { session: session.id, sequence, at: nowSeconds(), kind: 'raw' };
    records.deliver_sms.push(record);
    return record;
  },
  'POST /enquire_link': (body) => {
    const session = pickSession(body);
    session.enquire_link();
    return { session: session.id };
  },
  // Every SMPP socket, or the one `session` names.
  'POST /drop': (body) => {
    const chosen = body && body.session !== undefined
      ? [...sessions].filter((s) => s.id === body.session) : [...sessions];
    chosen.forEach((s) => s.socket.destroy());
    return { dropped: chosen.map((s) => s.id) };
  },
};

const control = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const route = routes[`${req.method} ${req.url.split('?')[0]}`];
    let status = 200;
    let result;
    try {
      if (!route) {
        status = 404;
        result = { error: `no route ${req.method} ${req.url}` };
      } else {
        const text = Buffer.concat(chunks).toString('utf8');
        result = route(text ? JSON.parse(text) : {});
      }
    } catch (err) {
      status = 400;
      result = { error: String(err && err.message ? err.message : err) };
    }
    const payload = Buffer.from(JSON.stringify(result));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
    res.end(payload);
  });
});

// --- start -------------------------------------------------------------------

const server = smpp.createServer(onSession);
server.listen(config.port, HOST, () => {
  control.listen(config.controlPort, HOST, () => {
    process.stdout.write(`READY ${server.address().port} ${control.address().port}\n`);
  });
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
