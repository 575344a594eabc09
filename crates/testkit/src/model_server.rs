//! A scripted model server: a real HTTP/1.1 server on 127.0.0.1 that speaks the OpenAI chat
//! completions wire format (`POST /v1/chat/completions`, `POST /chat/completions`) and the
//! Anthropic Messages format (`POST /v1/messages`), with replies scripted per agent role and
//! turn. It records every request so tests can assert on what the agents sent. It is the only
//! fake in the end-to-end tests: the client code under test talks real HTTP to it.
//!
//! The role of a request comes from its `model` field, through [`ScriptedModelServer::map_model`]
//! (by default the model name is the role name). Each role's turn is the 0-based index of its
//! request. A role whose script is exhausted and that has no responder gets a 500 whose body
//! says "no scripted reply left for role X turn N", so a test fails loudly instead of hanging.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A reply computed from the request and the role's turn.
pub type Responder = Box<dyn Fn(&RecordedRequest, usize) -> Reply + Send + Sync>;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A successful completion with this text.
    Text {
        /// The assistant's text.
        text: String,
        /// (prompt, completion) tokens to report; `None` estimates them as characters / 4.
        usage: Option<(u32, u32)>,
        /// Prompt tokens to report as read from the prompt cache (part of the prompt).
        cached: u32,
    },
    /// An HTTP error status with an error body in the wire format of the request.
    Status {
        /// The status code.
        code: u16,
        /// The error message.
        message: String,
        /// Extra response headers (e.g. Retry-After).
        headers: Vec<(String, String)>,
    },
    /// Waits before answering.
    Delayed {
        /// How long to wait, in milliseconds.
        ms: u64,
        /// The answer after the wait.
        reply: Box<Reply>,
    },
}

impl Reply {
    /// A successful completion with this text.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text {
            text: text.into(),
            usage: None,
            cached: 0,
        }
    }

    /// A successful completion whose text is this JSON value, serialised.
    pub fn json(value: &Value) -> Reply {
        Reply::text(value.to_string())
    }

    /// An HTTP error status with this message.
    pub fn status(code: u16, message: impl Into<String>) -> Reply {
        Reply::Status {
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// This reply after a delay.
    pub fn delayed(ms: u64, reply: Reply) -> Reply {
        Reply::Delayed {
            ms,
            reply: Box::new(reply),
        }
    }

    /// Reports these token counts (text replies; ignored otherwise).
    pub fn with_usage(self, prompt: u32, completion: u32) -> Reply {
        match self {
            Reply::Text { text, cached, .. } => Reply::Text {
                text,
                usage: Some((prompt, completion)),
                cached,
            },
            Reply::Delayed { ms, reply } => Reply::Delayed {
                ms,
                reply: Box::new(reply.with_usage(prompt, completion)),
            },
            other => other,
        }
    }

    /// Reports this many of the prompt's tokens as read from the prompt cache, in the
    /// request's wire format (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
    /// `cache_read_input_tokens` beside the uncached `input_tokens`).
    pub fn with_cached(self, tokens: u32) -> Reply {
        match self {
            Reply::Text { text, usage, .. } => Reply::Text {
                text,
                usage,
                cached: tokens,
            },
            Reply::Delayed { ms, reply } => Reply::Delayed {
                ms,
                reply: Box::new(reply.with_cached(tokens)),
            },
            other => other,
        }
    }

    /// Adds a response header (status replies; ignored otherwise).
    pub fn with_header(self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        match self {
            Reply::Status {
                code,
                message,
                mut headers,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Status {
                    code,
                    message,
                    headers,
                }
            }
            Reply::Delayed { ms, reply } => Reply::Delayed {
                ms,
                reply: Box::new(reply.with_header(name, value)),
            },
            other => other,
        }
    }
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The agent role it was for (from the model name).
    pub role: String,
    /// The role's turn: 0 for its first request.
    pub turn: usize,
    /// The request path, e.g. "/v1/chat/completions".
    pub path: String,
    /// The `model` field.
    pub model: String,
    /// The JSON body.
    pub body: Value,
    /// All text parts (system included), joined by newlines.
    pub text: String,
    /// Number of image parts.
    pub images: usize,
    /// The status the server answered with.
    pub status: u16,
    /// The request headers, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<Reply>>,
    responders: HashMap<String, Arc<Responder>>,
    models: HashMap<String, String>,
    turns: HashMap<String, usize>,
    requests: Vec<RecordedRequest>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A real HTTP server with scripted model replies; stops on drop.
pub struct ScriptedModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptedModelServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModelServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptedModelServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> std::io::Result<ScriptedModelServer> {
        Self::start_on("127.0.0.1".parse().map_err(std::io::Error::other)?)
    }

    /// Starts a server on a free port of `ip` (e.g. this machine's network address, to be
    /// an endpoint that is not loopback).
    pub fn start_on(ip: std::net::IpAddr) -> std::io::Result<ScriptedModelServer> {
        let listener = TcpListener::bind((ip, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("model-server".into())
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(ScriptedModelServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// This machine's first IPv4 address that is not loopback (from `hostname -I`), if any.
    pub fn network_ip() -> Option<std::net::IpAddr> {
        let out = std::process::Command::new("hostname")
            .arg("-I")
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| w.parse::<std::net::IpAddr>().ok())
            .find(|ip| ip.is_ipv4() && !ip.is_loopback())
    }

    /// The OpenAI-style base URL, "http://127.0.0.1:PORT/v1".
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The server root, "http://127.0.0.1:PORT" (the Anthropic base URL).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Appends replies to the role's script; they are used in order.
    pub fn script(&self, role: &str, replies: Vec<Reply>) {
        self.shared
            .lock()
            .scripts
            .entry(role.to_string())
            .or_default()
            .extend(replies);
    }

    /// Answers the role's requests with `f` once its script is used up.
    pub fn responder(&self, role: &str, f: Responder) {
        self.shared
            .lock()
            .responders
            .insert(role.to_string(), Arc::new(f));
    }

    /// Requests naming `model` are for `role` (without a mapping the model name is the role).
    pub fn map_model(&self, model: &str, role: &str) {
        self.shared
            .lock()
            .models
            .insert(model.to_string(), role.to_string());
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests (turn counters and scripts stay), e.g. between benchmark
    /// batches so the log does not grow without bound.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The requests for one role, in order.
    pub fn requests_for(&self, role: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.role == role)
            .cloned()
            .collect()
    }

    /// How many requests the role made.
    pub fn count(&self, role: &str) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.role == role)
            .count()
    }

    /// Scripted replies not yet used, per role.
    pub fn remaining(&self) -> BTreeMap<String, usize> {
        self.shared
            .lock()
            .scripts
            .iter()
            .map(|(role, q)| (role.clone(), q.len()))
            .collect()
    }
}

impl Drop for ScriptedModelServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let conn_shared = Arc::clone(shared);
        // Connection threads are detached: they end when the client closes, and poll the stop
        // flag while idle, so none outlives the server for long or blocks process exit.
        let _ = std::thread::Builder::new()
            .name("model-server-conn".into())
            .spawn(move || serve_connection(stream, &conn_shared));
    }
}

/// How often an idle keep-alive connection checks the stop flag.
const POLL: Duration = Duration::from_millis(100);

struct HttpRequest {
    method: String,
    path: String,
    close: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader, shared) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        let (code, headers, body) = handle(&request, shared);
        let close = request.close || shared.stop.load(Ordering::SeqCst);
        if write_response(&mut writer, code, &headers, &body, close).is_err() || close {
            return;
        }
    }
}

/// Reads one request; `None` when the client closed the connection (or the server stopped)
/// before sending one.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    shared: &Shared,
) -> std::io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    reader.get_ref().set_read_timeout(Some(POLL))?;
    loop {
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(Ordering::SeqCst) {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
    // The request has started: read the rest without polling.
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let http10 = parts.next().is_some_and(|v| v == "HTTP/1.0");
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut close = http10;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let name = name.trim().to_ascii_lowercase();
        headers.push((name.clone(), value.to_string()));
        match name.as_str() {
            "content-length" => content_length = value.parse().unwrap_or(0),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0u8; content_length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(HttpRequest {
        method,
        path,
        close,
        headers,
        body,
    }))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_hex = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_hex, 16).unwrap_or(0);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn write_response(
    writer: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n",
        reason(code),
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Wire {
    OpenAi,
    Anthropic,
}

type Response = (u16, Vec<(String, String)>, Vec<u8>);

fn handle(request: &HttpRequest, shared: &Shared) -> Response {
    let path = request.path.split('?').next().unwrap_or_default();
    let wire = match (request.method.as_str(), path) {
        ("POST", "/v1/chat/completions" | "/chat/completions") => Wire::OpenAi,
        ("POST", "/v1/messages") => Wire::Anthropic,
        ("GET", "/v1/models" | "/models") => return models_list(shared),
        _ => {
            let body = json!({"error": {"message": format!("no route {} {}", request.method, path), "type": "not_found"}});
            return (404, Vec::new(), body.to_string().into_bytes());
        }
    };
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(wire, 400, &format!("request body is not JSON: {e}"), &[]);
        }
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (text, images) = request_text(&body, wire);
    let (mut recorded, reply) = {
        let mut state = shared.lock();
        let role = state
            .models
            .get(&model)
            .cloned()
            .unwrap_or_else(|| model.clone());
        let turn_slot = state.turns.entry(role.clone()).or_insert(0);
        let turn = *turn_slot;
        *turn_slot += 1;
        let recorded = RecordedRequest {
            role: role.clone(),
            turn,
            path: path.to_string(),
            model: model.clone(),
            body: body.clone(),
            text,
            images,
            status: 0,
            headers: request.headers.clone(),
        };
        let scripted = state.scripts.get_mut(&role).and_then(VecDeque::pop_front);
        let reply = match scripted {
            Some(reply) => Ok(reply),
            None => Err(state.responders.get(&role).cloned()),
        };
        (recorded, reply)
    };
    // Responders run outside the lock so they may take their time.
    let reply = match reply {
        Ok(reply) => reply,
        Err(Some(responder)) => responder(&recorded, recorded.turn),
        Err(None) => Reply::status(
            500,
            format!(
                "no scripted reply left for role {} turn {}",
                recorded.role, recorded.turn
            ),
        ),
    };
    let (status, response) = render(wire, &reply, &model, &recorded, shared);
    recorded.status = status;
    shared.lock().requests.push(recorded);
    response
}

fn render(
    wire: Wire,
    reply: &Reply,
    model: &str,
    request: &RecordedRequest,
    shared: &Shared,
) -> (u16, Response) {
    match reply {
        Reply::Delayed { ms, reply } => {
            let until = Instant::now() + Duration::from_millis(*ms);
            while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(until.saturating_duration_since(Instant::now()).min(POLL));
            }
            render(wire, reply, model, request, shared)
        }
        Reply::Status {
            code,
            message,
            headers,
        } => (*code, error_response(wire, *code, message, headers)),
        Reply::Text {
            text,
            usage,
            cached,
        } => {
            let (prompt, completion) = usage.unwrap_or_else(|| {
                (
                    estimate_tokens(&request.text) + 85 * request.images as u32,
                    estimate_tokens(text),
                )
            });
            let body = match wire {
                Wire::OpenAi => json!({
                    "id": format!("chatcmpl-{}-{}", request.role, request.turn),
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop"
                    }],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                        "prompt_tokens_details": {"cached_tokens": cached}
                    }
                }),
                Wire::Anthropic => json!({
                    "id": format!("msg_{}_{}", request.role, request.turn),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": prompt.saturating_sub(*cached),
                        "cache_read_input_tokens": cached, "output_tokens": completion}
                }),
            };
            (200, (200, Vec::new(), body.to_string().into_bytes()))
        }
    }
}

fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

fn error_response(wire: Wire, code: u16, message: &str, headers: &[(String, String)]) -> Response {
    let body = match wire {
        Wire::OpenAi => {
            json!({"error": {"message": message, "type": "scripted_error", "code": code}})
        }
        Wire::Anthropic => {
            json!({"type": "error", "error": {"type": "scripted_error", "message": message}})
        }
    };
    (code, headers.to_vec(), body.to_string().into_bytes())
}

fn models_list(shared: &Shared) -> Response {
    let state = shared.lock();
    let mut names: Vec<String> = state.models.keys().cloned().collect();
    names.extend(state.scripts.keys().cloned());
    names.extend(state.responders.keys().cloned());
    names.sort();
    names.dedup();
    let data: Vec<Value> = names
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": "deskhand-testkit"}))
        .collect();
    let body = json!({"object": "list", "data": data});
    (200, Vec::new(), body.to_string().into_bytes())
}

/// All text parts of the request (system first), joined by newlines, and the image count.
fn request_text(body: &Value, wire: Wire) -> (String, usize) {
    let mut texts: Vec<String> = Vec::new();
    let mut images = 0usize;
    if wire == Wire::Anthropic {
        collect_content(body.get("system"), &mut texts, &mut images);
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            collect_content(message.get("content"), &mut texts, &mut images);
        }
    }
    (texts.join("\n"), images)
}

fn collect_content(content: Option<&Value>, texts: &mut Vec<String>, images: &mut usize) {
    match content {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            texts.push(t.to_string());
                        }
                    }
                    Some("image_url" | "image" | "input_image") => *images += 1,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The id of the first node in compact tree text (see `deskhand_perception::render::compact_text`:
/// one line per node, `id role "name" ...`, indented) whose role and quoted name are exactly
/// `role` and `name`.
/// The body of the last `### title` section of a prompt: the lines after the heading up to
/// the next blank line ("" when the prompt has no such section).
pub fn prompt_section(text: &str, title: &str) -> String {
    let head = format!("### {title}\n");
    let Some(start) = text.rfind(&head) else {
        return String::new();
    };
    let body = &text[start + head.len()..];
    body[..body.find("\n\n").unwrap_or(body.len())]
        .trim()
        .to_string()
}

pub fn node_id(text: &str, role: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (id, rest) = line.trim_start().split_once(' ')?;
        // Roles may contain spaces ("push button"), names never contain '"' (the renderer
        // replaces them), so the role is exactly what precedes ` "`.
        let quoted = rest.strip_prefix(role)?.strip_prefix(" \"")?;
        let (node_name, _) = quoted.split_once('"')?;
        (node_name == name).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_finds_nodes_in_real_compact_text() {
        let fixture = crate::fixture("mousepad_file_menu").unwrap();
        let text = deskhand_perception::render::compact_text(&fixture.tree, 100_000, None);
        let id = node_id(&text, "menu item", "Save As...").unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap();
        assert!(line.contains("menu item \"Save As...\""), "{line}");
        // A two-word role is not mistaken for a one-word one.
        assert_eq!(node_id(&text, "menu", "Save As..."), None);
        let save = node_id(&text, "menu item", "Save").unwrap();
        assert_ne!(save, id);
        assert_eq!(node_id(&text, "menu item", "no such item"), None);
    }

    #[test]
    fn node_id_matches_role_and_name_exactly() {
        let text = "w1 frame \"Untitled - Mousepad\" [0,0,800,600] A\n \
                    n2 menu item \"Save\" [1,1,2,2]\n \
                    n3 push button \"Save As\" [1,1,2,2]\n \
                    n4 push button \"Save\" =\"x\" [1,1,2,2] F\n";
        assert_eq!(
            node_id(text, "frame", "Untitled - Mousepad").as_deref(),
            Some("w1")
        );
        assert_eq!(node_id(text, "push button", "Save").as_deref(), Some("n4"));
        assert_eq!(node_id(text, "menu item", "Save").as_deref(), Some("n2"));
        assert_eq!(node_id(text, "push", "Save"), None);
        assert_eq!(node_id(text, "push button", "Sav"), None);
    }

    fn raw_http(server: &ScriptedModelServer, request: &str) -> String {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_models_and_chunked_bodies_and_honours_connection_close() {
        let server = ScriptedModelServer::start().unwrap();
        server.script("manager", vec![Reply::text("hi")]);
        let models = raw_http(
            &server,
            "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(models.starts_with("HTTP/1.1 200 OK\r\n"), "{models}");
        assert!(models.contains("Connection: close"), "{models}");
        assert!(models.contains("\"id\":\"manager\""), "{models}");

        let body = r#"{"model":"manager","messages":[{"role":"user","content":"hello"}]}"#;
        let (a, b) = body.split_at(20);
        let chunked = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        let reply = raw_http(&server, &chunked);
        assert!(reply.contains("\"content\":\"hi\""), "{reply}");
        let log = server.requests();
        assert_eq!(
            (log[0].role.as_str(), log[0].turn, log[0].text.as_str()),
            ("manager", 0, "hello")
        );
        assert_eq!(server.remaining()["manager"], 0);
    }
}
