//! The AT-SPI accessibility reader behind the [`Accessibility`] port.
//!
//! The port is synchronous and may be called from any thread, including from inside a tokio
//! runtime (Tauri commands). So the reader owns one worker thread with its own current-thread
//! tokio runtime that holds the D-Bus connection; calls send a request over a channel and wait
//! for the reply no longer than the query allows. Nothing ever blocks on a runtime from the
//! caller's thread.
//!
//! A tree read walks the application level by level: every node of one level is read
//! concurrently (role, name and description, state, interfaces and children in one round, then
//! only what its interfaces offer: extents, text, action names, value), so the cost is a few
//! D-Bus round trips per level rather than per node. Children of nodes that are neither showing
//! nor placed (closed menus carry hundreds of hidden items) are not read, except below the
//! top-level windows themselves. Applications that report window-relative extents (GTK4) are
//! moved onto the desktop with the X window list (see `window_relative`).
//!
//! Errors a caller acts on: [`PortErrorKind::Unavailable`](deskhand_core::error::PortErrorKind)
//! from [`AtspiReader::connect`] or any read means there is no accessibility (no session bus,
//! no AT-SPI bus, or its registry stopped answering): perceive by vision alone and say so.
//! `NotFound` means the bus works but the application asked for is not on it; `Timeout` that
//! the read hit its deadline (the query's limits are kept).

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use atspi::proxy::accessible::{AccessibleProxy, ObjectRefExt};
use atspi::proxy::action::ActionProxy;
use atspi::proxy::component::ComponentProxy;
use atspi::proxy::text::TextProxy;
use atspi::zbus;
use atspi::zbus::zvariant::OwnedValue;
use atspi::{AccessibilityConnection, CoordType, Interface, ObjectRefOwned, Role, State, StateSet};
use deskhand_core::error::PortError;
use deskhand_core::geometry::Rect;
use deskhand_core::layout::{LayoutNode, LayoutTree, NodeId, NodeSource, NodeState};
use deskhand_core::ports::{Accessibility, AppSummary, TreeQuery, TreeScope};
use tokio::sync::mpsc as tokio_mpsc;

mod window_relative;

use window_relative::XWindows;

/// Longest wait for the connection to the accessibility bus.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the list of applications.
const APPS_TIMEOUT: Duration = Duration::from_secs(3);
/// Extra time the caller waits beyond a deadline so the worker's own timeout error arrives.
const REPLY_GRACE: Duration = Duration::from_millis(100);
/// Text content longer than this many characters is cut.
const MAX_TEXT_CHARS: i32 = 2_000;
/// At most this many action names are read per node.
const MAX_ACTIONS: usize = 16;

const HOW_TO_FIX: &str = "start a session D-Bus and the AT-SPI bus (DBUS_SESSION_BUS_ADDRESS must \
point at the session bus, and the reader must run as the same user as the applications); under \
`./x` this is done for you";

/// Roles of the top-level windows of an application.
const WINDOW_ROLES: &[Role] = &[
    Role::Frame,
    Role::Dialog,
    Role::Window,
    Role::Alert,
    Role::FileChooser,
];

/// Roles whose text content is worth reading even when not editable.
const TEXT_ROLES: &[Role] = &[
    Role::Label,
    Role::Text,
    Role::Entry,
    Role::Paragraph,
    Role::Heading,
    Role::Static,
    Role::Caption,
    Role::DocumentText,
    Role::SpinButton,
    Role::Terminal,
];

type Reply<T> = std_mpsc::Sender<Result<T, PortError>>;

enum Request {
    Apps {
        deadline: Instant,
        reply: Reply<Vec<AppSummary>>,
    },
    Tree {
        query: TreeQuery,
        deadline: Instant,
        reply: Reply<LayoutTree>,
    },
}

/// Reads the accessibility tree over AT-SPI (D-Bus).
///
/// Cheap to share: it is `Send + Sync` and every call goes to its worker thread. Dropping the
/// reader stops the worker once any read in flight ends.
#[derive(Debug)]
pub struct AtspiReader {
    requests: tokio_mpsc::UnboundedSender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Apps { .. } => f.write_str("Apps"),
            Request::Tree { query, .. } => write!(f, "Tree({:?})", query.scope),
        }
    }
}

impl AtspiReader {
    /// Connects to the accessibility bus of the session named by `DBUS_SESSION_BUS_ADDRESS`.
    ///
    /// Fails with [`PortErrorKind::Unavailable`](deskhand_core::error::PortErrorKind) when there
    /// is no session bus or no AT-SPI bus.
    pub fn connect() -> Result<AtspiReader, PortError> {
        let (requests, receiver) = tokio_mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("deskhand-atspi".into())
            .spawn(move || worker(receiver, ready_tx))
            .map_err(|e| {
                PortError::failed(format!("cannot start the accessibility thread: {e}"))
            })?;
        match ready_rx.recv_timeout(CONNECT_TIMEOUT + REPLY_GRACE) {
            Ok(Ok(())) => Ok(AtspiReader { requests }),
            Ok(Err(e)) => Err(e),
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(PortError::unavailable(format!(
                "the accessibility bus did not answer within {CONNECT_TIMEOUT:?}: {HOW_TO_FIX}"
            ))),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(PortError::failed(
                "the accessibility thread stopped while connecting",
            )),
        }
    }

    fn ask<T>(
        &self,
        timeout: Duration,
        what: &str,
        make: impl FnOnce(Instant, Reply<T>) -> Request,
    ) -> Result<T, PortError> {
        let deadline = Instant::now() + timeout;
        let (tx, rx) = std_mpsc::channel();
        self.requests
            .send(make(deadline, tx))
            .map_err(|_| PortError::failed("the accessibility thread has stopped"))?;
        match rx.recv_timeout(timeout + REPLY_GRACE) {
            Ok(result) => result,
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(PortError::timeout(format!(
                "{what} took longer than {timeout:?}"
            ))),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(PortError::failed(
                "the accessibility thread stopped during a read",
            )),
        }
    }
}

impl Accessibility for AtspiReader {
    fn applications(&self) -> Result<Vec<AppSummary>, PortError> {
        self.ask(
            APPS_TIMEOUT,
            "listing accessible applications",
            |deadline, reply| Request::Apps { deadline, reply },
        )
    }

    fn tree(&self, query: &TreeQuery) -> Result<LayoutTree, PortError> {
        let what = format!("reading the accessibility tree ({:?})", query.scope);
        let query = query.clone();
        self.ask(query.timeout, &what, move |deadline, reply| Request::Tree {
            query,
            deadline,
            reply,
        })
    }
}

/// The worker thread: connects, reports readiness, then serves requests one at a time until
/// the reader is dropped.
fn worker(
    mut requests: tokio_mpsc::UnboundedReceiver<Request>,
    ready: std_mpsc::Sender<Result<(), PortError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(PortError::failed(format!(
                "cannot start a tokio runtime: {e}"
            ))));
            return;
        }
    };
    runtime.block_on(async move {
        let conn = match tokio::time::timeout(CONNECT_TIMEOUT, AccessibilityConnection::new()).await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                let _ = ready.send(Err(PortError::unavailable(format!(
                    "cannot connect to the accessibility bus ({e}): {HOW_TO_FIX}"
                ))));
                return;
            }
            Err(_) => {
                let _ = ready.send(Err(PortError::unavailable(format!(
                    "the accessibility bus did not answer within {CONNECT_TIMEOUT:?}: {HOW_TO_FIX}"
                ))));
                return;
            }
        };
        if ready.send(Ok(())).is_err() {
            return;
        }
        let mut x_windows = XWindows::default();
        while let Some(request) = requests.recv().await {
            match request {
                Request::Apps { deadline, reply } => {
                    let result = within(
                        deadline,
                        "listing accessible applications",
                        applications(&conn),
                    )
                    .await;
                    let _ = reply.send(result);
                }
                Request::Tree {
                    query,
                    deadline,
                    reply,
                } => {
                    let what = format!("reading the accessibility tree ({:?})", query.scope);
                    let result =
                        within(deadline, &what, read_tree(&conn, &query, &mut x_windows)).await;
                    let _ = reply.send(result);
                }
            }
        }
    });
}

/// Runs a read until the deadline; past it the read is dropped and a timeout reported.
async fn within<T>(
    deadline: Instant,
    what: &str,
    read: impl Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(PortError::timeout(format!(
            "{what}: the deadline passed before it started"
        )));
    }
    match tokio::time::timeout(left, read).await {
        Ok(result) => result,
        Err(_) => Err(PortError::timeout(format!(
            "{what} took longer than allowed"
        ))),
    }
}

/// Polls all futures concurrently on the current task; outputs keep the input order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A proxy of any AT-SPI interface for one object.
async fn proxy<'a, T>(conn: &'a zbus::Connection, object: &ObjectRefOwned) -> zbus::Result<T>
where
    T: From<zbus::Proxy<'a>> + zbus::proxy::Defaults,
{
    let name = object
        .name()
        .ok_or_else(|| zbus::Error::Failure("null accessible reference".into()))?
        .clone();
    zbus::proxy::Builder::<T>::new(conn)
        .destination(name)?
        .path(object.path().clone())?
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
}

/// The registry or the bus itself failed: there is no accessibility to read from now.
fn bus_error(e: impl std::fmt::Display) -> PortError {
    PortError::unavailable(format!(
        "the accessibility bus or its registry does not answer ({e}): {HOW_TO_FIX}"
    ))
}

/// A top-level window as listed by its application.
struct AppWindow {
    object: ObjectRefOwned,
    name: String,
    states: StateSet,
}

/// An application on the bus with its top-level windows.
struct AppInfo {
    /// Its unique name on the accessibility bus.
    bus_name: String,
    name: String,
    windows: Vec<AppWindow>,
}

impl AppInfo {
    fn active(&self) -> bool {
        self.windows
            .iter()
            .any(|w| w.states.contains(State::Active))
    }
    fn showing(&self) -> bool {
        self.windows
            .iter()
            .any(|w| w.states.contains(State::Showing))
    }
}

/// Every application registered with the accessibility registry, in registration order.
async fn list_apps(conn: &AccessibilityConnection) -> Result<Vec<AppInfo>, PortError> {
    let registry = conn
        .root_accessible_on_registry()
        .await
        .map_err(bus_error)?;
    let apps = registry.get_children().await.map_err(bus_error)?;
    let bus = conn.connection();
    let infos = join_all(
        apps.iter()
            .filter(|a| !a.is_null())
            .map(|a| app_info(bus, a)),
    )
    .await;
    Ok(infos.into_iter().flatten().collect())
}

/// One application's name and windows; `None` when it left the bus meanwhile.
async fn app_info(conn: &zbus::Connection, app: &ObjectRefOwned) -> Option<AppInfo> {
    let accessible = app.as_accessible_proxy(conn).await.ok()?;
    let (name, children) = tokio::join!(accessible.name(), accessible.get_children());
    let children = children.ok()?;
    let windows = join_all(
        children
            .iter()
            .filter(|c| !c.is_null())
            .map(|c| window_info(conn, c)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    Some(AppInfo {
        bus_name: app.name_as_str().unwrap_or_default().to_string(),
        name: name.unwrap_or_default(),
        windows,
    })
}

async fn window_info(conn: &zbus::Connection, object: &ObjectRefOwned) -> Option<AppWindow> {
    let accessible = object.as_accessible_proxy(conn).await.ok()?;
    let (role, name, states) = tokio::join!(
        accessible.get_role(),
        accessible.name(),
        accessible.get_state()
    );
    if !WINDOW_ROLES.contains(&role.ok()?) {
        return None;
    }
    Some(AppWindow {
        object: object.clone(),
        name: trimmed(name.unwrap_or_default()),
        states: states.unwrap_or_else(|_| StateSet::empty()),
    })
}

async fn applications(conn: &AccessibilityConnection) -> Result<Vec<AppSummary>, PortError> {
    let apps = list_apps(conn).await?;
    let dbus = zbus::fdo::DBusProxy::new(conn.connection())
        .await
        .map_err(bus_error)?;
    let pids = join_all(apps.iter().map(|app| {
        let dbus = &dbus;
        async move {
            let name = zbus::names::BusName::try_from(app.bus_name.as_str()).ok()?;
            dbus.get_connection_unix_process_id(name).await.ok()
        }
    }))
    .await;
    Ok(apps
        .iter()
        .zip(pids)
        .map(|(app, pid)| AppSummary {
            name: app.name.clone(),
            pid,
            windows: app
                .windows
                .iter()
                .filter(|w| w.states.contains(State::Showing))
                .map(|w| w.name.clone())
                .collect(),
            active: app.active(),
        })
        .collect())
}

/// Picks the applications a scope asks for.
fn select_apps(apps: Vec<AppInfo>, scope: &TreeScope) -> Result<Vec<AppInfo>, PortError> {
    let names = || {
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    match scope {
        TreeScope::AllApps => Ok(apps),
        TreeScope::App(wanted) => {
            let wanted = wanted.trim().to_lowercase();
            if !apps.iter().any(|a| a.name.to_lowercase() == wanted) {
                return Err(PortError::not_found(format!(
                    "no application named {wanted:?} is on the accessibility bus (present: {})",
                    names()
                )));
            }
            Ok(apps
                .into_iter()
                .filter(|a| a.name.to_lowercase() == wanted)
                .collect())
        }
        TreeScope::FocusedApp => {
            let index = apps
                .iter()
                .position(AppInfo::active)
                .or_else(|| apps.iter().rposition(AppInfo::showing));
            match index {
                Some(i) => Ok(apps.into_iter().skip(i).take(1).collect()),
                None => Err(PortError::not_found(format!(
                    "no application has an active or showing window (present: {})",
                    names()
                ))),
            }
        }
    }
}

/// One node as read from the bus, before ids are given.
struct RawNode {
    role: String,
    name: String,
    description: Option<String>,
    actions: Vec<String>,
    text: Option<String>,
    bounds: Option<Rect>,
    states: Vec<NodeState>,
    children: Vec<usize>,
}

/// A node read plus the references of the children to read next.
struct Fetched {
    node: RawNode,
    children: Vec<ObjectRefOwned>,
}

/// A node waiting to be read.
struct Pending {
    object: ObjectRefOwned,
    parent: Option<usize>,
    depth: usize,
    /// Index of its application in the read.
    app: usize,
}

async fn read_tree(
    conn: &AccessibilityConnection,
    query: &TreeQuery,
    x_windows: &mut XWindows,
) -> Result<LayoutTree, PortError> {
    let apps = select_apps(list_apps(conn).await?, &query.scope)?;
    let app_names: Vec<String> = apps.iter().map(|a| a.bus_name.clone()).collect();
    let bus = conn.connection();
    let mut arena: Vec<RawNode> = Vec::new();
    // (arena index, application index) of each top-level window.
    let mut windows: Vec<(usize, usize)> = Vec::new();
    let mut level: Vec<Pending> = apps
        .into_iter()
        .enumerate()
        .flat_map(|(app, info)| info.windows.into_iter().map(move |w| (app, w)))
        .take(if query.max_depth == 0 {
            0
        } else {
            query.max_nodes
        })
        .map(|(app, w)| Pending {
            object: w.object,
            parent: None,
            depth: 1,
            app,
        })
        .collect();
    let mut reserved = level.len();
    while !level.is_empty() {
        let fetched = join_all(level.iter().map(|p| {
            let descend = p.depth < query.max_depth && reserved < query.max_nodes;
            fetch_node(bus, &p.object, descend, p.parent.is_none())
        }))
        .await;
        let mut next = Vec::new();
        for (pending, fetched) in level.into_iter().zip(fetched) {
            // A node that vanished while being read is left out with its subtree.
            let Some(fetched) = fetched else { continue };
            let index = arena.len();
            arena.push(fetched.node);
            match pending.parent.and_then(|p| arena.get_mut(p)) {
                Some(parent) => parent.children.push(index),
                None => windows.push((index, pending.app)),
            }
            for child in fetched.children {
                if reserved >= query.max_nodes {
                    break;
                }
                reserved += 1;
                next.push(Pending {
                    object: child,
                    parent: Some(index),
                    depth: pending.depth + 1,
                    app: pending.app,
                });
            }
        }
        level = next;
    }
    window_relative::fix_up(bus, &mut arena, &windows, &app_names, x_windows).await;
    let mut counter = 0usize;
    let children = windows
        .iter()
        .filter_map(|&(w, _)| build(&mut arena, w, &mut counter))
        .collect();
    Ok(LayoutTree {
        root: LayoutNode {
            children,
            ..LayoutNode::new("screen", "screen", NodeSource::Display)
        },
    })
}

/// Turns the arena into nodes, numbering them in depth-first order.
fn build(arena: &mut [RawNode], index: usize, counter: &mut usize) -> Option<LayoutNode> {
    *counter += 1;
    let id = NodeId(format!("a{counter}"));
    let raw = arena.get_mut(index)?;
    let child_indices = std::mem::take(&mut raw.children);
    let mut node = LayoutNode {
        id,
        role: std::mem::take(&mut raw.role),
        name: std::mem::take(&mut raw.name),
        text: raw.text.take(),
        bounds: raw.bounds,
        states: std::mem::take(&mut raw.states),
        source: NodeSource::Accessibility,
        also: Vec::new(),
        description: raw.description.take(),
        actions: std::mem::take(&mut raw.actions),
        words: Vec::new(),
        children: Vec::new(),
    };
    node.children = child_indices
        .into_iter()
        .filter_map(|c| build(arena, c, counter))
        .collect();
    Some(node)
}

/// The role name as libatspi spells it (atspi names `PushButton` just "button").
fn role_name(role: Role) -> String {
    match role {
        Role::Button => "push button".to_string(),
        other => other.name().to_string(),
    }
}

/// Drops surrounding whitespace (GTK3 pads menu item names: "New      ").
fn trimmed(s: String) -> String {
    if s.trim().len() == s.len() {
        s
    } else {
        s.trim().to_string()
    }
}

fn map_states(states: StateSet) -> Vec<NodeState> {
    let mut out = Vec::new();
    let mut add = |yes: bool, s: NodeState| {
        if yes {
            out.push(s);
        }
    };
    add(states.contains(State::Showing), NodeState::Showing);
    add(states.contains(State::Visible), NodeState::Visible);
    add(states.contains(State::Focused), NodeState::Focused);
    add(states.contains(State::Focusable), NodeState::Focusable);
    add(
        states.contains(State::Enabled) || states.contains(State::Sensitive),
        NodeState::Enabled,
    );
    add(
        states.contains(State::Checked) || states.contains(State::Pressed),
        NodeState::Checked,
    );
    add(states.contains(State::Editable), NodeState::Editable);
    add(states.contains(State::Selected), NodeState::Selected);
    add(states.contains(State::Expanded), NodeState::Expanded);
    add(states.contains(State::Active), NodeState::Active);
    out
}

/// Screen extents; `None` when empty or off any sane screen.
fn to_rect((x, y, w, h): (i32, i32, i32, i32)) -> Option<Rect> {
    if w <= 0 || h <= 0 || x == i32::MIN || y == i32::MIN {
        return None;
    }
    Some(Rect::new(x, y, w as u32, h as u32))
}

/// All properties of one interface of an object, in one call.
async fn properties(
    conn: &zbus::Connection,
    object: &ObjectRefOwned,
    interface: &'static str,
) -> Option<HashMap<String, OwnedValue>> {
    let props: zbus::fdo::PropertiesProxy<'_> = proxy(conn, object).await.ok()?;
    let interface = zbus::names::InterfaceName::from_static_str(interface).ok()?;
    props.get_all(interface).await.ok()
}

fn string_prop(props: &HashMap<String, OwnedValue>, key: &str) -> Option<String> {
    let value = props.get(key)?;
    <&str>::try_from(&**value).ok().map(str::to_string)
}

fn float_prop(props: &HashMap<String, OwnedValue>, key: &str) -> Option<f64> {
    f64::try_from(&**props.get(key)?).ok()
}

/// A Value interface's reading: its own text when it has one ("50%"), else the number
/// ("42", "0.5").
fn value_text(props: &HashMap<String, OwnedValue>) -> Option<String> {
    if let Some(text) = string_prop(props, "Text").filter(|t| !t.trim().is_empty()) {
        return Some(text.trim().to_string());
    }
    let value = float_prop(props, "CurrentValue")?;
    if !value.is_finite() {
        return None;
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Some(format!("{}", value as i64))
    } else {
        Some(format!("{value}"))
    }
}

/// Name and description of a node: both from one `GetAll` on the Accessible interface, or
/// from two calls when the application does not answer `GetAll`.
async fn name_and_description(
    conn: &zbus::Connection,
    object: &ObjectRefOwned,
    accessible: &AccessibleProxy<'_>,
) -> (String, String) {
    if let Some(props) = properties(conn, object, "org.a11y.atspi.Accessible").await {
        return (
            string_prop(&props, "Name").unwrap_or_default(),
            string_prop(&props, "Description").unwrap_or_default(),
        );
    }
    let (name, description) = tokio::join!(accessible.name(), accessible.description());
    (name.unwrap_or_default(), description.unwrap_or_default())
}

/// Reads one node. `descend` asks for its children; `top_level` reads them even when the node
/// is not showing. `None` when the object is gone.
///
/// Two rounds of concurrent calls: role, name and description, states, interfaces and
/// children; then only what the node's interfaces offer: extents (Component), text (Text, for
/// editable and text roles), action names (Action) and the value (Value, when there is no
/// text).
async fn fetch_node(
    conn: &zbus::Connection,
    object: &ObjectRefOwned,
    descend: bool,
    top_level: bool,
) -> Option<Fetched> {
    let accessible: AccessibleProxy<'_> = proxy(conn, object).await.ok()?;
    let (role, (name, description), states, interfaces, children) = tokio::join!(
        accessible.get_role(),
        name_and_description(conn, object, &accessible),
        accessible.get_state(),
        accessible.get_interfaces(),
        async {
            if descend {
                accessible.get_children().await.ok()
            } else {
                None
            }
        }
    );
    let role = role.ok()?;
    let states = states.unwrap_or_else(|_| StateSet::empty());
    if states.contains(State::Defunct) {
        return None;
    }
    let interfaces = interfaces.ok();
    let has = |i: Interface| interfaces.is_some_and(|set| set.contains(i));
    let want_text = has(Interface::Text)
        && role != Role::PasswordText
        && (states.contains(State::Editable) || TEXT_ROLES.contains(&role));
    let (bounds, text, actions, value) = tokio::join!(
        async {
            if !has(Interface::Component) {
                return None;
            }
            let component: ComponentProxy<'_> = proxy(conn, object).await.ok()?;
            to_rect(component.get_extents(CoordType::Screen).await.ok()?)
        },
        async {
            if !want_text {
                return None;
            }
            let text: TextProxy<'_> = proxy(conn, object).await.ok()?;
            let count = text.character_count().await.ok()?;
            if count <= 0 {
                return Some(String::new());
            }
            text.get_text(0, count.min(MAX_TEXT_CHARS)).await.ok()
        },
        async {
            if !has(Interface::Action) {
                return Vec::new();
            }
            let Ok(action) = proxy::<ActionProxy<'_>>(conn, object).await else {
                return Vec::new();
            };
            // One call for all of them. GetActions gives the names as shown to people
            // (GTK3: "Click"), lower-cased here to the usual "click", "press", "activate";
            // asking GetName for the untranslated ones costs a call per action.
            action
                .get_actions()
                .await
                .unwrap_or_default()
                .into_iter()
                .take(MAX_ACTIONS)
                .map(|a| a.name.to_lowercase())
                .filter(|n| !n.is_empty())
                .collect()
        },
        async {
            if want_text || !has(Interface::Value) {
                return None;
            }
            value_text(&properties(conn, object, "org.a11y.atspi.Value").await?)
        }
    );
    // GTK3 leaves the items of closed menus visible but neither showing nor placed; GTK4
    // does not mark containers showing, but places them.
    let on_screen = states.contains(State::Showing) || bounds.is_some();
    let children = if descend && (top_level || on_screen) {
        children
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.is_null())
            .collect()
    } else {
        Vec::new()
    };
    let description = trimmed(description);
    Some(Fetched {
        node: RawNode {
            role: role_name(role),
            name: trimmed(name),
            description: (!description.is_empty()).then_some(description),
            actions,
            text: text.or(value),
            bounds,
            states: map_states(states),
            children: Vec::new(),
        },
        children,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_libatspi() {
        assert_eq!(role_name(Role::Button), "push button");
        assert_eq!(role_name(Role::MenuItem), "menu item");
        assert_eq!(role_name(Role::Frame), "frame");
        assert_eq!(role_name(Role::Text), "text");
    }

    #[test]
    fn empty_and_offscreen_extents_have_no_bounds() {
        assert_eq!(to_rect((0, 0, 0, 10)), None);
        assert_eq!(to_rect((i32::MIN, 0, 5, 5)), None);
        assert_eq!(to_rect((3, 4, 5, 6)), Some(Rect::new(3, 4, 5, 6)));
    }

    #[test]
    fn states_map_sensitive_to_enabled() {
        let states = StateSet::new(State::Sensitive | State::Showing);
        assert_eq!(
            map_states(states),
            vec![NodeState::Showing, NodeState::Enabled]
        );
    }

    #[test]
    fn join_all_keeps_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let Ok(rt) = rt else { panic!("no runtime") };
        let out = rt.block_on(join_all((0..5u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(10 * (5 - i))).await;
            i
        })));
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
    }
}
