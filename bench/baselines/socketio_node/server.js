// A minimal Node.js Socket.IO chat server: the same events and frames as
// ../socketio_server.py (python-socketio), so one load generator drives both.
// No storage, no scoring, any token. `join` {room_id} -> `joined`; `send`
// {room_id, client_msg_id, body} -> `ack` to the sender and `message` to the room's others.
// GET /healthz answers 200.
//
//     node bench/baselines/socketio_node/server.js --port 8767
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const host = option("--host", "127.0.0.1");
const port = Number(option("--port", "8767"));

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status": "ok"}\n');
    return;
  }
  res.writeHead(404);
  res.end();
});

// Websocket transport only, no per-message compression: as the Python baseline is run.
const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 1 << 20,
});

const seqs = new Map();
let ids = 0;

io.on("connection", (socket) => {
  const auth = socket.handshake.auth || {};
  const user = { id: String(auth.token || "anon"), handle: "anon", role: "participant" };

  socket.on("join", (data) => {
    const room = data.room_id;
    socket.join(room);
    socket.emit("joined", { room_id: room, last_seq: seqs.get(room) || 0 });
  });

  socket.on("send", (data) => {
    const room = data.room_id;
    const seq = (seqs.get(room) || 0) + 1;
    seqs.set(room, seq);
    const mid = `msg_${++ids}`;
    const sentAt = new Date().toISOString();
    socket.emit("ack", {
      room_id: room, client_msg_id: data.client_msg_id, seq, message_id: mid, sent_at: sentAt,
    });
    socket.to(room).emit("message", {
      room_id: room, seq, message_id: mid, client_msg_id: data.client_msg_id, sender: user,
      body: data.body, sent_at: sentAt,
    });
  });
});

httpServer.listen(port, host, 4096);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
